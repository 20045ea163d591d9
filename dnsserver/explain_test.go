package dnsserver

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// TestExplainMatchesAnswers: for every configuration and tag, the
// instances Explain says are in DNS are exactly those the SRV answer over
// UDP holds, and the answer's TTL is the smallest of their TTLs.
func TestExplainMatchesAnswers(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*Config)
	}{
		{"default", nil},
		{"only passing", func(c *Config) { c.OnlyPassing = true }},
		{"panic", func(c *Config) { c.PanicThreshold = 0.9 }},
		{"panic only passing", func(c *Config) { c.PanicThreshold = 0.9; c.OnlyPassing = true }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.mod)
			port := 1000
			reg := func(id string, tags []string, checks ...store.CheckSpec) {
				port++
				f.register(t, store.Registration{ID: id, Name: "web", Address: fmt.Sprintf("10.3.0.%d", port-1000), Port: port, Tags: tags, Checks: checks})
			}
			blue := []string{"blue"}
			reg("pass", blue, store.CheckSpec{ID: "pass", HTTP: "http://10.3.0.1/", Interval: 10 * time.Second, Status: store.Passing})
			reg("crit", blue, store.CheckSpec{ID: "crit", TCP: "10.3.0.2:1", Interval: time.Minute, Status: store.Critical})
			reg("warn", nil, store.CheckSpec{ID: "warn", TTL: 40 * time.Second, Status: store.Warning})
			reg("maint", blue)
			if err := f.st.SetMaintenance("maint", true, "moving racks"); err != nil {
				t.Fatal(err)
			}
			reg("plain", nil)
			reg("ttl", blue, store.CheckSpec{ID: "ttl", TTL: 25 * time.Second, Status: store.Passing})
			f.clk.Add(3 * time.Second)
			ports := map[uint16]string{1001: "pass", 1002: "crit", 1003: "warn", 1004: "maint", 1005: "plain", 1006: "ttl"}
			policy := f.srv.cfg.Policy()
			for _, tag := range []string{"", "blue"} {
				name := "web.service.local."
				if tag != "" {
					name = tag + "." + name
				}
				r := exchange(t, "udp", f.srv.UDPAddr(), new(dns.Msg).SetQuestion(name, dns.TypeSRV))
				var inAnswer []string
				var ttl uint32
				for _, rr := range r.Answer {
					inAnswer = append(inAnswer, ports[rr.(*dns.SRV).Port])
					ttl = rr.Header().Ttl
				}
				slices.Sort(inAnswer)
				e := policy.Explain(f.st.Snapshot().Service("web"), tag, f.clk.Now())
				var inDNS []string
				var minTTL time.Duration
				for _, x := range e.Instances {
					if x.InDNS {
						inDNS = append(inDNS, x.ID)
						if minTTL == 0 || x.TTL < minTTL {
							minTTL = x.TTL
						}
					}
				}
				if !slices.Equal(inAnswer, inDNS) {
					t.Errorf("tag %q: SRV answer holds %v, Explain says %v", tag, inAnswer, inDNS)
				}
				if len(inDNS) > 0 && time.Duration(ttl)*time.Second != minTTL {
					t.Errorf("tag %q: SRV TTL %d, Explain's smallest %s", tag, ttl, minTTL)
				}
				if len(inDNS) == 0 {
					t.Errorf("tag %q: nothing in DNS; the fixture should always answer", tag)
				}
			}
		})
	}
}
