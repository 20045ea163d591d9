package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// view is what a client sees of service web at one moment: over DNS (SRV
// priorities by port) and over the API (?passing, and all with health).
type view struct {
	dns     map[uint16]uint16 // port → SRV priority
	passing []int             // ports from /v1/health/service/web?passing
	health  map[int]string    // port → aggregated health from /v1/health/service/web
}

func (p *proc) view(t *testing.T) view {
	t.Helper()
	v := view{dns: map[uint16]uint16{}, health: map[int]string{}}
	r := p.query(t, "web.service.local", dns.TypeSRV)
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			v.dns[srv.Port] = srv.Priority
		}
	}
	type entry struct {
		Service struct{ Port int }
		Checks  []struct{ Status string }
	}
	var all, passing []entry
	for path, v := range map[string]*[]entry{"/v1/health/service/web": &all, "/v1/health/service/web?passing": &passing} {
		if err := json.Unmarshal([]byte(p.mustDo(t, "GET", path, "")), v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	if len(all) != 2 {
		t.Fatalf("health/service/web lists %d instances, want both", len(all))
	}
	for _, e := range passing {
		v.passing = append(v.passing, e.Service.Port)
	}
	slices.Sort(v.passing)
	for _, e := range all {
		h := "passing"
		for _, c := range e.Checks {
			if c.Status == "critical" || c.Status == "warning" && h == "passing" {
				h = c.Status
			}
		}
		v.health[e.Service.Port] = h
	}
	return v
}

// agrees reports whether DNS and the API tell the same story: DNS lists
// exactly the passing (priority 1) and warning (priority 2) instances, and
// ?passing lists exactly the passing ones.
func (v view) agrees() error {
	var pass []int
	for port, h := range v.health {
		prio, inDNS := v.dns[uint16(port)]
		switch {
		case h == "passing" && (!inDNS || prio != 1):
			return fmt.Errorf("port %d passing in the API but DNS has %v", port, v.dns)
		case h == "warning" && (!inDNS || prio != 2):
			return fmt.Errorf("port %d warning in the API but DNS has %v", port, v.dns)
		case h == "critical" && inDNS:
			return fmt.Errorf("port %d critical in the API but in DNS", port)
		}
		if h == "passing" {
			pass = append(pass, port)
		}
	}
	slices.Sort(pass)
	if !slices.Equal(pass, v.passing) {
		return fmt.Errorf("?passing lists %v, health says %v", v.passing, v.health)
	}
	return nil
}

// TestHealthDrivesDNS flips a real backend through passing, critical,
// warning and back, and a TTL check through its reports, and requires each
// change in DNS within interval + timeout + 1 s, with the API agreeing
// with DNS at every poll.
func TestHealthDrivesDNS(t *testing.T) {
	t.Parallel()
	var code atomic.Int32
	code.Store(200)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(code.Load()))
	}))
	defer backend.Close()

	p := startBeacon(t, t.TempDir(), testkit.Options{})
	p.mustDo(t, "PUT", "/v1/agent/service/register", fmt.Sprintf(
		`{"ID":"web-http","Name":"web","Address":"10.0.0.1","Port":1,"Check":{"HTTP":%q,"Interval":"1s","Timeout":"1s"}}`, backend.URL))
	p.mustDo(t, "PUT", "/v1/agent/service/register",
		`{"ID":"web-ttl","Name":"web","Address":"10.0.0.2","Port":2,"Check":{"TTL":"30s"}}`)

	const bound = 3 * time.Second // interval + timeout + 1 s
	steps := []struct {
		name string
		act  func()
		want map[uint16]uint16 // port → priority in DNS
	}{
		{"first check passes at once, TTL check starts critical", func() {}, map[uint16]uint16{1: 1}},
		{"TTL pass", func() { p.mustDo(t, "PUT", "/v1/agent/check/pass/service:web-ttl?note=ok", "") }, map[uint16]uint16{1: 1, 2: 1}},
		{"backend 500", func() { code.Store(500) }, map[uint16]uint16{2: 1}},
		{"backend 429", func() { code.Store(429) }, map[uint16]uint16{1: 2, 2: 1}},
		{"TTL warn", func() { p.mustDo(t, "PUT", "/v1/agent/check/warn/service:web-ttl", "") }, map[uint16]uint16{1: 2, 2: 2}},
		{"backend 200", func() { code.Store(200) }, map[uint16]uint16{1: 1, 2: 2}},
		{"TTL fail", func() { p.mustDo(t, "PUT", "/v1/agent/check/fail/service:web-ttl", "") }, map[uint16]uint16{1: 1}},
	}
	for _, st := range steps {
		start := time.Now()
		st.act()
		for {
			v := p.view(t)
			if err := v.agrees(); err != nil {
				// A check may land between the DNS and the API read;
				// a real lag shows on the next read too.
				if v = p.view(t); v.agrees() != nil {
					t.Fatalf("%s: DNS and API disagree: %v", st.name, err)
				}
			}
			if fmt.Sprint(v.dns) == fmt.Sprint(st.want) {
				t.Logf("%s: seen in DNS after %s", st.name, time.Since(start).Round(time.Millisecond))
				break
			}
			if time.Since(start) > bound {
				t.Fatalf("%s: DNS shows %v after %s, want %v", st.name, v.dns, bound, st.want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
