package dnsserver

import (
	"context"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/beacon-dns/beacon/store"
)

// fakeSource stands in for the store where a test needs no data.
type fakeSource struct{}

func (fakeSource) Snapshot() *store.Snapshot { return nil }

// panicky wraps a source and panics on the next Snapshot when armed.
type panicky struct {
	Source
	armed atomic.Bool
}

func (p *panicky) Snapshot() *store.Snapshot {
	if p.armed.CompareAndSwap(true, false) {
		panic("boom")
	}
	return p.Source.Snapshot()
}

func TestPanicRecovery(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	src := &panicky{Source: f.st}
	srv, err := New(Config{Addr: "127.0.0.1:0", Logger: quiet}, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	for _, network := range []string{"udp", "tcp"} {
		addr := srv.UDPAddr()
		if network == "tcp" {
			addr = srv.TCPAddr()
		}
		src.armed.Store(true)
		q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
		r := exchange(t, network, addr, q)
		if r.Rcode != dns.RcodeServerFailure || r.Id != q.Id {
			t.Errorf("%s: rcode %s, want SERVFAIL", network, dns.RcodeToString[r.Rcode])
		}
		r = exchange(t, network, addr, new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
			t.Errorf("%s after a panic: %v", network, r)
		}
	}
	if got := testutil.ToFloat64(srv.h.met.panics); got != 2 {
		t.Errorf("panics counted %v, want 2", got)
	}
	if err := srv.Serving(); err != nil {
		t.Errorf("Serving after panics: %v", err)
	}
}

// TestGarbage sends thousands of random and truncated packets over UDP
// and TCP, then checks that the server still answers correctly.
func TestGarbage(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	rng := rand.New(rand.NewPCG(1, 2))
	valid, _ := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeSRV).Pack()
	withOPT, _ := withEDNS(new(dns.Msg).SetQuestion("v1.web.service.local.", dns.TypeA), 1232, true).Pack()
	packet := func() []byte {
		switch rng.IntN(4) {
		case 0: // random bytes
			b := make([]byte, rng.IntN(600))
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			return b
		case 1: // a valid query cut short
			src := valid
			if rng.IntN(2) == 0 {
				src = withOPT
			}
			return append([]byte(nil), src[:rng.IntN(len(src))]...)
		default: // a valid query with bytes flipped
			src := valid
			if rng.IntN(2) == 0 {
				src = withOPT
			}
			b := append([]byte(nil), src...)
			for range 1 + rng.IntN(4) {
				b[rng.IntN(len(b))] = byte(rng.UintN(256))
			}
			return b
		}
	}

	udp, err := net.Dial("udp", f.srv.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for range 3000 {
		udp.Write(packet())
	}

	for c := range 30 {
		conn, err := net.DialTimeout("tcp", f.srv.TCPAddr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for range 1 + c%5 {
			p := packet()
			if rng.IntN(3) == 0 && len(p) > 0 {
				conn.Write([]byte{0, byte(len(p) + 3)}) // a length that lies
			} else {
				conn.Write([]byte{byte(len(p) >> 8), byte(len(p))})
			}
			conn.Write(p)
		}
		conn.Close()
	}

	serial := uint32(f.st.Snapshot().CatalogIndex())
	for _, c := range zoneCases(serial)[:12] {
		for _, tr := range transports[1:] {
			q := c.Msg()
			c.check(t, q, tr.do(t, f, q))
		}
	}
	if err := f.srv.Serving(); err != nil {
		t.Errorf("Serving: %v", err)
	}
}

// TestFormErr checks the replies to requests the server can parse only in
// part: FORMERR with the ID, and NOTIMP for unknown opcodes.
func TestFormErr(t *testing.T) {
	f := newFixture(t, nil)
	q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
	q.Question = append(q.Question, q.Question[0])
	r, _ := exchangeRaw(t, "udp", f.srv.UDPAddr(), q)
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}
	q = new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
	q.Opcode = dns.OpcodeUpdate
	r, _ = exchangeRaw(t, "tcp", f.srv.TCPAddr(), q)
	if r.Rcode != dns.RcodeNotImplemented {
		t.Errorf("UPDATE: %s, want NOTIMP", dns.RcodeToString[r.Rcode])
	}
}

func TestShutdown(t *testing.T) {
	f := newFixture(t, nil)
	srv, err := New(Config{Addr: "127.0.0.1:0", Logger: quiet}, f.st)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Serving() == nil || srv.UDPAddr() != nil {
		t.Fatal("serving before Start")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err == nil {
		t.Error("second Start succeeded")
	}
	addr := srv.TCPAddr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.Serving() == nil {
		t.Error("Serving() nil after Shutdown")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("TCP still accepting after Shutdown")
	}
}
