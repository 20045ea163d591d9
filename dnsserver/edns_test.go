package dnsserver

import (
	"fmt"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// seedBig registers n instances of service "big" concurrently, so the
// store coalesces their commits.
func seedBig(t testing.TB, f *fixture, n int) {
	t.Helper()
	seedService(t, f, "big", n)
}

// seedService registers n instances of service name at distinct IPv4
// addresses.
func seedService(t testing.TB, f *fixture, name string, n int) {
	t.Helper()
	regs := make([]store.Registration, n)
	for i := range regs {
		regs[i] = store.Registration{
			ID: fmt.Sprintf("%s%03d", name, i), Name: name,
			Address: fmt.Sprintf("10.%d.%d.%d", 1+i/62500, i/250%250, i%250+1), Port: 1000 + i%60000,
		}
	}
	registerAll(t, f, regs)
}

// registerAll registers regs concurrently, so the store coalesces their
// commits.
func registerAll(t testing.TB, f *fixture, regs []store.Registration) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(regs))
	sem := make(chan struct{}, 64)
	for _, r := range regs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := f.st.Register(r)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func withEDNS(q *dns.Msg, size uint16, do bool) *dns.Msg {
	q.SetEdns0(size, do)
	return q
}

func TestTruncation(t *testing.T) {
	f := newFixture(t, nil)
	seedBig(t, f, 60)
	for _, c := range []struct {
		name    string
		network string
		size    uint16 // 0: no OPT
		qtype   uint16
		tc      bool
		limit   int
	}{
		{"udp no EDNS A", "udp", 0, dns.TypeA, true, 512},
		{"udp no EDNS SRV", "udp", 0, dns.TypeSRV, true, 512},
		{"udp EDNS 1232 A", "udp", 1232, dns.TypeA, false, 1232},
		{"udp EDNS 1232 SRV", "udp", 1232, dns.TypeSRV, true, 1232},
		{"udp EDNS 4096 SRV", "udp", 4096, dns.TypeSRV, false, 4096},
		{"udp EDNS 300 SRV", "udp", 300, dns.TypeSRV, true, 512},
		{"tcp SRV", "tcp", 0, dns.TypeSRV, false, dns.MaxMsgSize},
		{"tcp EDNS 512 SRV", "tcp", 512, dns.TypeSRV, false, dns.MaxMsgSize},
	} {
		t.Run(c.name, func(t *testing.T) {
			for range 2 { // the second from the cache where cacheable
				q := new(dns.Msg).SetQuestion("big.service.local.", c.qtype)
				if c.size > 0 {
					withEDNS(q, c.size, false)
				}
				addr := f.srv.UDPAddr()
				if c.network == "tcp" {
					addr = f.srv.TCPAddr()
				}
				r, raw := exchangeRaw(t, c.network, addr, q)
				if len(raw) > c.limit {
					t.Fatalf("reply of %d bytes, limit %d", len(raw), c.limit)
				}
				if r.Truncated != c.tc {
					t.Fatalf("TC=%v, want %v (%d bytes, %d answers)", r.Truncated, c.tc, len(raw), len(r.Answer))
				}
				if !c.tc && (len(r.Answer) != 60 || (c.qtype == dns.TypeSRV && len(withoutOPT(r.Extra)) != 60)) {
					t.Fatalf("%d answers and %d glue, want 60 and 60", len(r.Answer), len(withoutOPT(r.Extra)))
				}
				if c.tc && len(r.Answer) == 0 && c.qtype == dns.TypeA {
					t.Fatalf("truncated A answer kept no records; whole records that fit may stay")
				}
				if (r.IsEdns0() != nil) != (c.size > 0) {
					t.Fatalf("OPT in reply: %v, in query: %v", r.IsEdns0() != nil, c.size > 0)
				}
			}
		})
	}
}

// TestHundredsOverTCP checks a full answer of 300 instances over TCP.
func TestHundredsOverTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("registers 300 instances")
	}
	f := newFixture(t, nil)
	seedBig(t, f, 300)
	for _, qt := range []uint16{dns.TypeSRV, dns.TypeA} {
		q := new(dns.Msg).SetQuestion("big.service.local.", qt)
		r := exchange(t, "tcp", f.srv.TCPAddr(), q)
		if r.Truncated || len(r.Answer) != 300 {
			t.Fatalf("%s over TCP: TC=%v with %d answers, want all 300", dns.TypeToString[qt], r.Truncated, len(r.Answer))
		}
		seen := map[string]bool{}
		for _, rr := range r.Answer {
			seen[rr.String()] = true
		}
		if len(seen) != 300 {
			t.Fatalf("%d distinct answers, want 300", len(seen))
		}
	}
}

// TestUDPSizeLimit checks that no UDP reply exceeds what the client
// allows, whatever it asks for.
func TestUDPSizeLimit(t *testing.T) {
	for _, mode := range udpModes {
		t.Run(mode.name, func(t *testing.T) { testUDPSizeLimit(t, mode.readers) })
	}
}

func testUDPSizeLimit(t *testing.T, readers int) {
	f := newFixture(t, func(c *Config) { c.UDPReaders = readers })
	seedBig(t, f, 120)
	seed(t, f)
	names := []string{"big.service.local.", "web.service.local.", "nope.service.local.", "service.local."}
	for _, size := range []uint16{0, 1, 511, 512, 513, 700, 1023, 1232, 1300, 1400, 1452, 2048, 3000, 4095, 4096, 9000, 65535} {
		for _, name := range names {
			for _, qt := range []uint16{dns.TypeA, dns.TypeSRV, dns.TypeAAAA, dns.TypeNS} {
				q := new(dns.Msg).SetQuestion(name, qt)
				limit := 512
				if size > 0 {
					withEDNS(q, size, true)
					limit = min(max(int(size), 512), 4096)
				}
				_, raw := exchangeRaw(t, "udp", f.srv.UDPAddr(), q)
				if len(raw) > limit {
					t.Errorf("%s %s with size %d: %d bytes, limit %d", name, dns.TypeToString[qt], size, len(raw), limit)
				}
			}
		}
	}
}

func TestEDNS(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			// No OPT in the query: none in the reply.
			r := tr.do(t, f, new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA))
			if r.IsEdns0() != nil {
				t.Errorf("reply has OPT, query had none")
			}
			// OPT echoed, version 0, DO as asked.
			for _, do := range []bool{false, true} {
				for range 2 {
					r = tr.do(t, f, withEDNS(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA), 1232, do))
					opt := r.IsEdns0()
					if opt == nil || opt.Version() != 0 || opt.Do() != do || opt.UDPSize() < 512 {
						t.Fatalf("OPT %v, want version 0 with DO=%v", opt, do)
					}
					if len(r.Answer) != 2 {
						t.Fatalf("answers %v", r.Answer)
					}
				}
			}
			// Unknown version: BADVERS with an OPT of version 0.
			q := withEDNS(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA), 1232, false)
			q.IsEdns0().SetVersion(1)
			r = tr.do(t, f, q)
			if r.Rcode != dns.RcodeBadVers || r.IsEdns0() == nil || r.IsEdns0().Version() != 0 || len(r.Answer) != 0 {
				t.Errorf("version 1: rcode %s OPT %v answers %d, want BADVERS, OPT version 0, no answer", dns.RcodeToString[r.Rcode], r.IsEdns0(), len(r.Answer))
			}
			// Two OPT records: FORMERR (RFC 6891 section 6.1.1).
			q = withEDNS(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA), 1232, false)
			q.Extra = append(q.Extra, q.Extra[0])
			r = tr.do(t, f, q)
			// The problem is the OPT record itself, so the reply carries
			// one (RFC 6891 section 7).
			if r.Rcode != dns.RcodeFormatError || r.IsEdns0() == nil {
				t.Errorf("two OPTs: rcode %s OPT %v, want FORMERR with OPT", dns.RcodeToString[r.Rcode], r.IsEdns0())
			}
		})
	}
}
