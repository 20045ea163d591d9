package dnsserver

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/beacon-dns/beacon/store"
)

// largeWant is what a reply for a large service may hold.
type largeWant struct {
	addrs    map[netip.Addr]bool // A/AAAA: the eligible addresses
	srv      map[string]string   // SRV: "prio weight port target" → glue address ("" for none)
	eligible int
	ttl      uint32
}

// holdLarge holds reply r (raw bytes long) to q, from a client taking
// limit bytes, to what w allows: records of the service only, each once,
// whole; TC exactly when some are missing; glue only for targets in the
// answer, when nothing is missing, as far as it fits.
func holdLarge(t *testing.T, what string, q, r *dns.Msg, raw, limit int, w largeWant) (first string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: "+format, append([]any{what}, args...)...)
	}
	if raw > limit {
		fail("%d bytes, limit %d", raw, limit)
	}
	if r.Id != q.Id || r.Rcode != dns.RcodeSuccess || !r.Authoritative || r.Question[0] != q.Question[0] {
		fail("header %v", r.MsgHdr)
	}
	if (r.IsEdns0() != nil) != (q.IsEdns0() != nil) {
		fail("OPT %v, query's %v", r.IsEdns0(), q.IsEdns0())
	}
	if len(r.Answer) == 0 || r.Truncated != (len(r.Answer) < w.eligible) {
		fail("TC=%v with %d of %d records", r.Truncated, len(r.Answer), w.eligible)
	}
	seen := map[string]bool{}
	targets := map[string]string{}
	for _, rr := range r.Answer {
		h := rr.Header()
		if !strings.EqualFold(h.Name, q.Question[0].Name) || h.Ttl != w.ttl || h.Rrtype != q.Question[0].Qtype {
			fail("record %v, want owner %s, TTL %d", rr, q.Question[0].Name, w.ttl)
		}
		var k string
		switch rr := rr.(type) {
		case *dns.A:
			a, _ := netip.AddrFromSlice(rr.A.To4())
			k = a.String()
			if !w.addrs[a] {
				fail("A %s of no eligible instance", a)
			}
		case *dns.AAAA:
			a, _ := netip.AddrFromSlice(rr.AAAA)
			k = a.String()
			if !w.addrs[a] {
				fail("AAAA %s of no eligible instance", a)
			}
		case *dns.SRV:
			k = fmt.Sprintf("%d %d %d %s", rr.Priority, rr.Weight, rr.Port, rr.Target)
			g, ok := w.srv[k]
			if !ok {
				fail("SRV %s of no eligible instance", k)
			}
			targets[rr.Target] = g
		}
		if seen[k] {
			fail("record %s twice", k)
		}
		seen[k] = true
		if first == "" {
			first = k
		}
	}
	glue := map[string]bool{}
	extra := withoutOPT(r.Extra)
	if r.Truncated && len(extra) > 0 {
		fail("glue %v with TC set", extra)
	}
	for _, rr := range extra {
		name := rr.Header().Name
		var a string
		switch rr := rr.(type) {
		case *dns.A:
			a = rr.A.String()
		case *dns.AAAA:
			a = rr.AAAA.String()
		}
		if g, ok := targets[name]; !ok || g != a || glue[name] || rr.Header().Ttl != w.ttl {
			fail("additional record %v is no glue of the answer, or twice", rr)
		}
		glue[name] = true
	}
	if !r.Truncated && q.Question[0].Qtype == dns.TypeSRV {
		for name, g := range targets {
			if g != "" && !glue[name] && raw+12+len(name)+1+len(netip.MustParseAddr(g).AsSlice()) <= limit {
				fail("no glue for %s though %d bytes are left", name, limit-raw)
			}
		}
	}
	return first
}

// wideWant is largeWant for seedService's instances 0 to n-1.
func wideWant(n int, qtype uint16) largeWant {
	w := largeWant{addrs: map[netip.Addr]bool{}, srv: map[string]string{}, eligible: n, ttl: 30}
	for i := range n {
		a := netip.MustParseAddr(fmt.Sprintf("10.%d.%d.%d", 1+i/62500, i/250%250, i%250+1))
		w.addrs[a] = true
		w.srv[fmt.Sprintf("1 1 %d %s", 1000+i, hexTarget(a, "service.local."))] = a.String()
	}
	return w
}

// largeQuery sends q with the EDNS size (0: none) over tr and returns
// the reply, its size and the client's limit.
func largeQuery(t *testing.T, f *fixture, tr transport, q *dns.Msg, size uint16) (*dns.Msg, int, int) {
	t.Helper()
	limit := 512
	if size > 0 {
		q.SetEdns0(size, false)
		limit = int(size)
	}
	var r *dns.Msg
	var raw []byte
	switch tr.name {
	case "handler":
		r, raw = serveRaw(t, f.srv.h, q, false)
	case "udp":
		r, raw = exchangeRaw(t, "udp", f.srv.UDPAddr(), q)
	case "tcp":
		r, raw = exchangeRaw(t, "tcp", f.srv.TCPAddr(), q)
		limit = dns.MaxMsgSize
	}
	return r, len(raw), limit
}

// TestLargeAnswers checks replies for a service of 1,000 instances over
// every transport and size, from the cache and not: each reply holds
// only the service's records, as many as fit, TC when some are missing,
// and each reply its own sample, so that over many replies nearly every
// instance is handed out.
func TestLargeAnswers(t *testing.T) {
	const n = 1000
	f := newFixture(t, nil)
	seedService(t, f, "wide", n)
	for _, tr := range transports {
		for _, qt := range []uint16{dns.TypeA, dns.TypeSRV} {
			for _, size := range []uint16{0, 1232, 4096} {
				want := wideWant(n, qt)
				firsts := map[string]bool{}
				const queries = 60
				for i := range queries {
					name := "wide.service.local."
					if i%3 == 1 {
						name = "WIDE.service.local."
					}
					q := new(dns.Msg).SetQuestion(name, qt)
					r, raw, limit := largeQuery(t, f, tr, q, size)
					what := fmt.Sprintf("%s %s size %d query %d", tr.name, dns.TypeToString[qt], size, i)
					firsts[holdLarge(t, what, q, r, raw, limit, want)] = true
					if tr.name != "tcp" && qt == dns.TypeA && len(r.Answer) != (limit-raw+len(r.Answer)*16)/16 {
						t.Fatalf("%s: %d A records in %d bytes, room for more", what, len(r.Answer), raw)
					}
				}
				// 60 draws of the first of 1,000: all but a few differ.
				if len(firsts) < queries*3/4 {
					t.Errorf("%s %s size %d: %d different first records in %d replies", tr.name, dns.TypeToString[qt], size, len(firsts), queries)
				}
			}
		}
	}
	if hits := testutil.ToFloat64(f.srv.h.met.hits); hits == 0 {
		t.Errorf("no cache hits")
	}
}

// TestLargeSpread checks that truncated replies are fresh samples: over
// 300 replies of 29 addresses each, most of a 1,000-instance service is
// handed out, where one cached sample would hand out 29.
func TestLargeSpread(t *testing.T) {
	f := newFixture(t, nil)
	seedService(t, f, "wide", 1000)
	seen := map[string]bool{}
	for range 300 {
		r := serveDirect(t, f.srv.h, new(dns.Msg).SetQuestion("wide.service.local.", dns.TypeA), false)
		if !r.Truncated || len(r.Answer) != 29 {
			t.Fatalf("TC=%v with %d records, want 29 and TC", r.Truncated, len(r.Answer))
		}
		for _, rr := range r.Answer {
			seen[rr.(*dns.A).A.String()] = true
		}
	}
	if len(seen) < 900 {
		t.Errorf("300 replies handed out %d of 1,000 instances", len(seen))
	}
	if hits := testutil.ToFloat64(f.srv.h.met.hits); hits != 299 {
		t.Errorf("hits %v, want 299", hits)
	}
}

// TestLargeWeights checks the weighted order of truncated A replies: an
// address of weight 100 among 200 of weight 1 comes first in about a
// third of them, and weight-0 addresses (warning instances with warning
// weight 0) never make it into a reply that cannot hold every other.
func TestLargeWeights(t *testing.T) {
	f := newFixture(t, nil)
	var regs []store.Registration
	for i := range 200 {
		regs = append(regs, store.Registration{ID: fmt.Sprintf("lw%03d", i), Name: "lw", Address: fmt.Sprintf("10.9.%d.%d", i/200, i%200+1), Port: 80})
	}
	regs = append(regs, store.Registration{ID: "heavy", Name: "lw", Address: "10.8.0.1", Port: 80, Weights: &store.Weights{Passing: 100, Warning: 1}})
	for i := range 10 {
		regs = append(regs, store.Registration{ID: fmt.Sprintf("zero%d", i), Name: "lw", Address: fmt.Sprintf("10.7.0.%d", i+1), Port: 80,
			Weights: &store.Weights{Passing: 1, Warning: 0}, Checks: []store.CheckSpec{{TTL: time.Hour, Status: store.Warning}}})
	}
	registerAll(t, f, regs)
	const n = 3000
	heavy := 0
	for range n {
		r := serveDirect(t, f.srv.h, new(dns.Msg).SetQuestion("lw.service.local.", dns.TypeA), false)
		if !r.Truncated || len(r.Answer) != 29 {
			t.Fatalf("TC=%v with %d records, want 29 and TC", r.Truncated, len(r.Answer))
		}
		for _, rr := range r.Answer {
			if a := rr.(*dns.A).A.String(); strings.HasPrefix(a, "10.7.") {
				t.Fatalf("weight-0 address %s in a reply with room for 29 of 201 others", a)
			}
			if rr.Header().Ttl != 5 {
				t.Fatalf("TTL %d, want the warning TTL 5", rr.Header().Ttl)
			}
		}
		if r.Answer[0].(*dns.A).A.String() == "10.8.0.1" {
			heavy++
		}
	}
	// 100 of 300 weight: a third; 3000 draws put 3σ at about ±2.6%.
	if share := float64(heavy) / n; share < 0.30 || share > 0.37 {
		t.Errorf("weight 100 of 300 came first in %.1f%% of replies, want about 33%%", share*100)
	}
}

// TestLargeMixedTargets serves a service of 3,600 instances of which 600
// are healthy, at IPv4 and IPv6 addresses (some shared) and host names:
// over TCP every SRV record and its glue fit, with glue owners past the
// reach of compression pointers written out; over UDP replies are
// truncated.
func TestLargeMixedTargets(t *testing.T) {
	f := newFixture(t, nil)
	w := largeWant{addrs: map[netip.Addr]bool{}, srv: map[string]string{}, ttl: 30}
	var regs []store.Registration
	for i := range 3600 {
		r := store.Registration{ID: fmt.Sprintf("mx%04d", i), Name: "mixed", Port: 2000 + i}
		switch {
		case i >= 600:
			r.Address = fmt.Sprintf("10.6.%d.%d", i/250, i%250+1)
			r.Checks = []store.CheckSpec{{TTL: time.Hour}} // critical
		case i < 400:
			r.Address = fmt.Sprintf("10.5.%d.%d", i/2/250, i/2%250+1) // two instances at each
		case i < 500:
			r.Address = fmt.Sprintf("2001:db8::%x", i)
		default:
			r.Address = fmt.Sprintf("h%d.example.com", i)
		}
		regs = append(regs, r)
		if i < 600 {
			target, glue := strings.ToLower(r.Address)+".", ""
			if a, err := netip.ParseAddr(r.Address); err == nil {
				target, glue = hexTarget(a, "service.local."), a.String()
			}
			w.srv[fmt.Sprintf("1 1 %d %s", r.Port, target)] = glue
			w.eligible++
		}
	}
	registerAll(t, f, regs)
	for _, tr := range transports {
		for _, size := range []uint16{0, 4096} {
			for range 5 {
				q := new(dns.Msg).SetQuestion("mixed.service.local.", dns.TypeSRV)
				r, raw, limit := largeQuery(t, f, tr, q, size)
				holdLarge(t, fmt.Sprintf("%s size %d", tr.name, size), q, r, raw, limit, w)
				if tr.name == "tcp" && (len(r.Answer) != 600 || len(withoutOPT(r.Extra)) != 300) {
					t.Fatalf("over TCP: %d SRV, %d glue; want 600 and 300 (200 IPv4 and 100 IPv6 targets)", len(r.Answer), len(withoutOPT(r.Extra)))
				}
			}
		}
	}
}

// TestLargeInvalidation checks that a large answer changes with the
// service: fewer instances make the next reply complete, and a TTL that
// follows a TTL check counts down.
func TestLargeInvalidation(t *testing.T) {
	f := newFixture(t, nil)
	var regs []store.Registration
	for i := range 40 {
		regs = append(regs, store.Registration{ID: fmt.Sprintf("sh%02d", i), Name: "shrink", Address: fmt.Sprintf("10.4.0.%d", i+1), Port: 80,
			Checks: []store.CheckSpec{{TTL: 10 * time.Second, Status: store.Passing}}})
	}
	registerAll(t, f, regs)
	f.clk.Add(300 * time.Millisecond) // 9.7 s left: TTL 9 until 1 s after the heartbeats
	ask := func() *dns.Msg {
		return serveDirect(t, f.srv.h, new(dns.Msg).SetQuestion("shrink.service.local.", dns.TypeA), false)
	}
	for range 2 {
		if r := ask(); !r.Truncated || len(r.Answer) != 29 || r.Answer[0].Header().Ttl != 9 {
			t.Fatalf("40 instances: TC=%v, %d records, TTL %d; want TC, 29, 9", r.Truncated, len(r.Answer), r.Answer[0].Header().Ttl)
		}
	}
	f.clk.Add(701 * time.Millisecond)
	if r := ask(); r.Answer[0].Header().Ttl != 8 {
		t.Fatalf("8.999 s left: TTL %d, want 8", r.Answer[0].Header().Ttl)
	}
	for i := range 20 {
		if err := f.st.Deregister(fmt.Sprintf("sh%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if r := ask(); r.Truncated || len(r.Answer) != 20 {
		t.Fatalf("20 instances left: TC=%v with %d records, want all 20", r.Truncated, len(r.Answer))
	}
}
