package dnsserver

import (
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkHandler measures the handler alone (no sockets): answers from
// the cache, answers built from the snapshot, and NXDOMAIN both ways.
func BenchmarkHandler(b *testing.B) {
	for _, c := range []struct {
		name  string
		cache bool
		qname string
		qtype uint16
	}{
		{"hit/SRV", true, "web.service.local.", dns.TypeSRV},
		{"hit/A", true, "web.service.local.", dns.TypeA},
		{"hit/NXDOMAIN", true, "nope.service.local.", dns.TypeA},
		{"miss/SRV", false, "web.service.local.", dns.TypeSRV},
		{"miss/A", false, "web.service.local.", dns.TypeA},
		{"miss/NXDOMAIN", false, "nope.service.local.", dns.TypeA},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b, func(cfg *Config) {
				if !c.cache {
					cfg.CacheSize = -1
				}
			})
			seed(b, f)
			h := f.srv.h
			q := new(dns.Msg).SetQuestion(c.qname, c.qtype)
			rec := &recorder{buf: make([]byte, 0, 4096)}
			h.ServeDNS(rec, q)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.ServeDNS(rec, q)
			}
			b.StopTimer()
			r := new(dns.Msg)
			if err := r.Unpack(rec.buf); err != nil || r.Id != q.Id {
				b.Fatalf("last reply: %v %v", err, r)
			}
		})
	}
}

// BenchmarkHandlerParallel runs cache hits from every P, where a lock
// shared by all queries would show.
func BenchmarkHandlerParallel(b *testing.B) {
	f := newFixture(b, nil)
	seed(b, f)
	h := f.srv.h
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeSRV)
		rec := &recorder{buf: make([]byte, 0, 4096)}
		for pb.Next() {
			h.ServeDNS(rec, q)
		}
	})
}
