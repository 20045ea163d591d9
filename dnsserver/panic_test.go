package dnsserver

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/testkit"
	"github.com/beacon-dns/beacon/store"
)

func gauge(t *testing.T, f *fixture, name string) float64 {
	t.Helper()
	for _, mf := range mustGather(t, f) {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// waitGauge reads the gauge until it shows want or five seconds pass:
// the panic watch follows snapshots on its own.
func waitGauge(t *testing.T, f *fixture, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for gauge(t, f, name) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, gauge(t, f, name), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// aRecords returns the sorted A records (as addresses) of name over
// UDP, and their TTL.
func aRecords(t *testing.T, f *fixture, name string) ([]string, uint32) {
	t.Helper()
	r := exchange(t, "udp", f.srv.UDPAddr(), new(dns.Msg).SetQuestion(name, dns.TypeA))
	var out []string
	var ttl uint32
	for _, rr := range r.Answer {
		out = append(out, rr.(*dns.A).A.String())
		ttl = rr.Header().Ttl
	}
	slices.Sort(out)
	return out, ttl
}

func TestPanicMode(t *testing.T) {
	logs := &testkit.SyncBuffer{}
	f := newFixture(t, func(c *Config) {
		c.PanicThreshold = 0.5
		c.TTL, c.WarningTTL = 30*time.Second, 5*time.Second
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		tags := []string{"blue"}
		if id == "4" {
			tags = nil
		}
		f.register(t, store.Registration{ID: "api-" + id, Name: "api", Address: "10.1.0." + id, Port: 80, Tags: tags,
			Checks: []store.CheckSpec{{ID: "c" + id, TTL: time.Hour, Status: store.Passing}}})
	}
	// Instance 5 is in maintenance: left out of both counts, and of
	// answers even in panic mode.
	if err := f.st.SetMaintenance("api-5", true, "disk swap"); err != nil {
		t.Fatal(err)
	}
	set := func(id string, st store.Status) {
		t.Helper()
		if err := f.st.UpdateTTL("c"+id, st, "set by test"); err != nil {
			t.Fatal(err)
		}
	}
	all := []string{"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"}
	steps := []struct {
		name    string
		change  func()
		want    []string
		ttl     uint32
		panic   float64
		entered int
		left    int
	}{
		{"all passing", func() {}, all, 30, 0, 0, 0},
		{"half healthy is not below 0.5", func() { set("1", store.Critical); set("2", store.Critical) },
			[]string{"10.1.0.3", "10.1.0.4"}, 30, 0, 0, 0},
		{"a quarter healthy enters panic mode", func() { set("3", store.Critical) }, all, 5, 1, 1, 0},
		{"still in panic mode, logged once", func() { set("4", store.Warning) }, all, 5, 1, 1, 0},
		{"three of four healthy leaves panic mode", func() { set("1", store.Passing); set("2", store.Passing); set("4", store.Passing) },
			[]string{"10.1.0.1", "10.1.0.2", "10.1.0.4"}, 30, 0, 1, 1},
		{"entering again logs again", func() { set("1", store.Critical); set("2", store.Critical) }, all, 5, 1, 2, 1},
	}
	for _, s := range steps {
		s.change()
		got, ttl := aRecords(t, f, "api.service.local.")
		if !slices.Equal(got, s.want) || ttl != s.ttl {
			t.Errorf("%s: A %v TTL %d, want %v TTL %d", s.name, got, ttl, s.want, s.ttl)
		}
		waitGauge(t, f, "beacon_dns_panic_services", s.panic)
		if n := strings.Count(logs.String(), "service entered DNS panic mode"); n != s.entered {
			t.Errorf("%s: %d lines log entering panic mode, want %d:\n%s", s.name, n, s.entered, logs.String())
		}
		if n := strings.Count(logs.String(), "service left DNS panic mode"); n != s.left {
			t.Errorf("%s: %d lines log leaving panic mode, want %d", s.name, n, s.left)
		}
	}

	// In panic mode, SRV over TCP too holds every instance not in
	// maintenance, critical ones at priority 3 after the healthy ones,
	// and a tag still filters.
	r := exchange(t, "tcp", f.srv.TCPAddr(), new(dns.Msg).SetQuestion("blue.api.service.local.", dns.TypeSRV))
	prio := map[string]uint16{}
	for _, rr := range r.Answer {
		srv := rr.(*dns.SRV)
		prio[srv.Target] = srv.Priority
		if srv.Hdr.Ttl != 5 {
			t.Errorf("SRV %s TTL %d, want 5", srv.Target, srv.Hdr.Ttl)
		}
	}
	want := map[string]uint16{"0a010001.addr.service.local.": 3, "0a010002.addr.service.local.": 3, "0a010003.addr.service.local.": 3}
	if len(prio) != len(want) {
		t.Errorf("blue SRV in panic mode: %v, want %v", prio, want)
	}
	for k, v := range want {
		if prio[k] != v {
			t.Errorf("blue SRV in panic mode: %v, want %v", prio, want)
			break
		}
	}
}

// TestPanicModeOnlyPassing: with -only-passing a warning instance is not
// healthy, so it counts toward panic mode, and in panic mode answers
// hold it again.
func TestPanicModeOnlyPassing(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PanicThreshold = 1; c.OnlyPassing = true })
	f.register(t, store.Registration{ID: "a", Name: "web", Address: "10.2.0.1", Checks: []store.CheckSpec{{ID: "ca", TTL: time.Hour, Status: store.Passing}}})
	f.register(t, store.Registration{ID: "b", Name: "web", Address: "10.2.0.2", Checks: []store.CheckSpec{{ID: "cb", TTL: time.Hour, Status: store.Passing}}})
	if got, _ := aRecords(t, f, "web.service.local."); len(got) != 2 {
		t.Fatalf("all passing: %v", got)
	}
	if err := f.st.UpdateTTL("cb", store.Warning, "slow"); err != nil {
		t.Fatal(err)
	}
	if got, ttl := aRecords(t, f, "web.service.local."); len(got) != 2 || ttl != uint32(DefaultWarningTTL/time.Second) {
		t.Errorf("one warning under threshold 1: A %v TTL %d, want both at -warning-ttl", got, ttl)
	}
	waitGauge(t, f, "beacon_dns_panic_services", 1)
}

// TestPanicModeOff: by default every instance failing leaves the
// service without records, and the gauge stays 0.
func TestPanicModeOff(t *testing.T) {
	f := newFixture(t, nil)
	f.register(t, store.Registration{ID: "a", Name: "web", Address: "10.2.0.1", Checks: []store.CheckSpec{{ID: "ca", TTL: time.Hour, Status: store.Critical}}})
	if got, _ := aRecords(t, f, "web.service.local."); len(got) != 0 {
		t.Errorf("every instance critical without panic mode: A %v, want none", got)
	}
	if g := gauge(t, f, "beacon_dns_panic_services"); g != 0 {
		t.Errorf("beacon_dns_panic_services = %v without panic mode", g)
	}
}

func TestPanicThresholdValidated(t *testing.T) {
	for _, v := range []float64{-0.1, 1.5} {
		c := Config{PanicThreshold: v}
		err := c.fill()
		if ce, ok := err.(*ConfigError); !ok || ce.Field != "PanicThreshold" {
			t.Errorf("PanicThreshold %v: %v, want a ConfigError naming PanicThreshold", v, err)
		}
	}
	c := Config{PanicThreshold: 0.25}
	if err := c.fill(); err != nil {
		t.Errorf("PanicThreshold 0.25: %v", err)
	}
}
