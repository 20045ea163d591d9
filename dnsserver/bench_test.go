package dnsserver

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
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

// largeInstances is the size of the large service in
// BenchmarkLargeService.
const largeInstances = 50000

// BenchmarkLargeService measures queries for a service of 50,000
// instances, whose answers must be truncated, beside cached answers for
// web, a service of 3, in the same run: SRV and A over UDP without EDNS
// (512 bytes) and with EDNS 4096, and over TCP. The handler is called
// directly, as in BenchmarkHandler; a large answer is as cheap as a small
// one when its time per query stays within a small factor of the small
// one's. Besides ns/op it reports cpu-ns/op, the process's CPU time per
// query (garbage collection included), which other work on a shared
// machine does not inflate as it does wall time, and the reply's size.
func BenchmarkLargeService(b *testing.B) {
	f := newFixture(b, nil)
	seed(b, f)
	seedService(b, f, "big", largeInstances)
	h := f.srv.h
	for _, c := range []struct {
		name  string
		qname string
		qtype uint16
		edns  uint16 // 0: none
		tcp   bool
	}{
		{"small/SRV/udp512", "web.service.local.", dns.TypeSRV, 0, false},
		{"small/A/udp512", "web.service.local.", dns.TypeA, 0, false},
		{"small/SRV/edns4096", "web.service.local.", dns.TypeSRV, 4096, false},
		{"small/A/edns4096", "web.service.local.", dns.TypeA, 4096, false},
		{"large/SRV/udp512", "big.service.local.", dns.TypeSRV, 0, false},
		{"large/A/udp512", "big.service.local.", dns.TypeA, 0, false},
		{"large/SRV/edns4096", "big.service.local.", dns.TypeSRV, 4096, false},
		{"large/A/edns4096", "big.service.local.", dns.TypeA, 4096, false},
		{"large/SRV/tcp", "big.service.local.", dns.TypeSRV, 0, true},
		{"large/A/tcp", "big.service.local.", dns.TypeA, 0, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			q := new(dns.Msg).SetQuestion(c.qname, c.qtype)
			if c.edns > 0 {
				q.SetEdns0(c.edns, false)
			}
			rec := &recorder{tcp: c.tcp, buf: make([]byte, 0, dns.MaxMsgSize)}
			h.ServeDNS(rec, q)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				h.ServeDNS(rec, q)
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(len(rec.buf)), "bytes/reply")
			b.StopTimer()
			r := new(dns.Msg)
			if err := r.Unpack(rec.buf); err != nil || r.Id != q.Id || len(r.Answer) == 0 {
				b.Fatalf("last reply: %v %v", err, r)
			}
			// 50,000 records fit no limit, not even TCP's.
			if large := c.qname == "big.service.local."; r.Truncated != large {
				b.Fatalf("last reply: TC=%v with %d answers", r.Truncated, len(r.Answer))
			}
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkLargeRebuild measures what a change to a service of 50,000
// instances costs DNS: one rebuild of its large answer per type (and
// tag asked), shared by every size class and EDNS variant. The service
// is built in memory; the answer is read from it as from a snapshot.
func BenchmarkLargeRebuild(b *testing.B) {
	cfg := Config{}
	if err := cfg.fill(); err != nil {
		b.Fatal(err)
	}
	z := newZone(&cfg)
	svc := &store.Service{Name: "big"}
	for i := range largeInstances {
		a := netip.AddrFrom4([4]byte{10, byte(1 + i/62500), byte(i / 250 % 250), byte(i%250 + 1)})
		svc.Instances = append(svc.Instances, &store.Instance{ID: fmt.Sprint(i), Name: "big", Address: a.String(), Addr: a,
			Port: 1000 + i, Health: store.Passing, Weights: store.Weights{Passing: 1, Warning: 1}})
	}
	for _, qt := range []uint16{dns.TypeSRV, dns.TypeA} {
		b.Run(dns.TypeToString[qt], func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				l := &lookup{z: z, now: time.Now(), qname: "big.service.local.", qtype: qt, q: query{kind: kindService, service: "big"}}
				if la := l.buildLarge(svc); la.n != largeInstances {
					b.Fatalf("%d records", la.n)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
