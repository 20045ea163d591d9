package dnsserver

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"slices"
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
		for _, withOPT := range []bool{false, true} {
			src.armed.Store(true)
			q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
			if withOPT {
				q.SetEdns0(1232, true)
			}
			r := exchange(t, network, addr, q)
			if r.Rcode != dns.RcodeServerFailure || r.Id != q.Id {
				t.Errorf("%s: rcode %s, want SERVFAIL", network, dns.RcodeToString[r.Rcode])
			}
			// RFC 6891 section 6.1.1: OPT in the reply exactly when the
			// query had one, whatever the rcode.
			if opt := r.IsEdns0(); (opt != nil) != withOPT || (opt != nil && !opt.Do()) {
				t.Errorf("%s: SERVFAIL has OPT %v, query had OPT %v with DO", network, opt, withOPT)
			}
		}
		r := exchange(t, network, addr, new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
			t.Errorf("%s after a panic: %v", network, r)
		}
	}
	if got := testutil.ToFloat64(srv.h.met.panics); got != 4 {
		t.Errorf("panics counted %v, want 4", got)
	}
	if err := srv.Serving(); err != nil {
		t.Errorf("Serving after panics: %v", err)
	}
}

// TestGarbage sends thousands of random and truncated packets over UDP
// and TCP, then checks that the server still answers correctly.
func TestGarbage(t *testing.T) {
	for _, mode := range udpModes {
		t.Run(mode.name, func(t *testing.T) { testGarbage(t, mode.readers) })
	}
}

func testGarbage(t *testing.T, readers int) {
	f := newFixture(t, func(c *Config) { c.UDPReaders = readers })
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

	// UDP is lossy by design: a query sent while the socket still holds
	// the flood may be dropped. Wait until one gets through, then hold
	// every answer to the table.
	c := &dns.Client{Net: "udp", Timeout: 300 * time.Millisecond}
	for deadline := time.Now().Add(15 * time.Second); ; {
		if _, _, err := c.Exchange(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA), f.srv.UDPAddr().String()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no UDP answer within 15s of the flood")
		}
	}
	serial := uint32(f.st.Snapshot().Index())
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
	for _, mode := range udpModes {
		f := newFixture(t, func(c *Config) { c.UDPReaders = mode.readers })
		for _, network := range []string{"udp", "tcp"} {
			addr := f.srv.UDPAddr()
			if network == "tcp" {
				addr = f.srv.TCPAddr()
			}
			q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
			q.Question = append(q.Question, q.Question[0])
			if r, _ := exchangeRaw(t, network, addr, q); r.Rcode != dns.RcodeFormatError || !r.Response || r.Opcode != dns.OpcodeQuery {
				t.Errorf("%s %s two questions: %s, want FORMERR", mode.name, network, dns.RcodeToString[r.Rcode])
			}
			q = new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
			q.Opcode = dns.OpcodeUpdate
			if r, _ := exchangeRaw(t, network, addr, q); r.Rcode != dns.RcodeNotImplemented || r.Opcode != dns.OpcodeUpdate {
				t.Errorf("%s %s UPDATE: %s, want NOTIMP", mode.name, network, dns.RcodeToString[r.Rcode])
			}
			// With EDNS, AD and Z set (dig sends AD by default): the same
			// rcodes, with the question and an OPT record echoed (RFC
			// 6891 section 6.1.1), and AD and Z clear.
			for _, c := range []struct {
				opcode, questions, rcode int
			}{{dns.OpcodeQuery, 2, dns.RcodeFormatError}, {dns.OpcodeQuery, 0, dns.RcodeFormatError},
				{dns.OpcodeStatus, 1, dns.RcodeNotImplemented}, {dns.OpcodeUpdate, 1, dns.RcodeNotImplemented}, {dns.OpcodeIQuery, 1, dns.RcodeNotImplemented}} {
				q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)
				q.Opcode, q.AuthenticatedData, q.Zero = c.opcode, true, true
				q.Question = slices.Repeat(q.Question, c.questions)
				q.SetEdns0(1232, true)
				r, _ := exchangeRaw(t, network, addr, q)
				if r.Rcode != c.rcode || r.Opcode != c.opcode || r.AuthenticatedData || r.Zero || r.Authoritative {
					t.Errorf("%s %s opcode %d, %d questions: %s opcode %d AD %v Z %v AA %v, want %s opcode %d, AD, Z and AA clear", mode.name, network,
						c.opcode, c.questions, dns.RcodeToString[r.Rcode], r.Opcode, r.AuthenticatedData, r.Zero, r.Authoritative, dns.RcodeToString[c.rcode], c.opcode)
				}
				if opt := r.IsEdns0(); opt == nil || !opt.Do() {
					t.Errorf("%s %s opcode %d, %d questions: OPT %v, want one with DO", mode.name, network, c.opcode, c.questions, opt)
				}
				if c.questions > 0 && (len(r.Question) != 1 || r.Question[0] != q.Question[0]) {
					t.Errorf("%s %s opcode %d: question %v, want %v echoed", mode.name, network, c.opcode, r.Question, q.Question[0])
				}
			}
			// A question cut off after its header parses no further:
			// FORMERR with the ID.
			b, _ := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA).Pack()
			if r := exchangeBytes(t, network, addr, b[:20]); r == nil || r.Rcode != dns.RcodeFormatError || r.Id != binary.BigEndian.Uint16(b) {
				t.Errorf("%s %s cut question: %v, want FORMERR", mode.name, network, r)
			}
		}
		if got := waitCounter(f.srv.h.met.requests[typeOther][rcodeIndex(dns.RcodeFormatError)], 8); got != 8 {
			t.Errorf("%s: FORMERR counted %v times, want 8", mode.name, got)
		}
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

// TestIPv6Listener serves on [::1], where the batched reader uses the
// ipv6 package, and checks the NS glue follows the listen address.
func TestIPv6Listener(t *testing.T) {
	if c, err := net.ListenPacket("udp", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback")
	} else {
		c.Close()
	}
	for _, mode := range udpModes {
		f := newFixture(t, func(c *Config) { c.Addr = "[::1]:0"; c.UDPReaders = mode.readers })
		seed(t, f)
		for _, tr := range transports {
			for _, c := range []Case{
				{Qname: "web.service.local.", Qtype: dns.TypeA, Answer: []string{"web.service.local. 30 IN A 10.0.0.5", "web.service.local. 30 IN A 10.0.0.6"}},
				{Qname: "ns.service.local.", Qtype: dns.TypeAAAA, Answer: []string{"ns.service.local. 30 IN AAAA ::1"}},
				{Qname: "service.local.", Qtype: dns.TypeNS, Answer: []string{"service.local. 30 IN NS ns.service.local."},
					Extra: []string{"ns.service.local. 30 IN AAAA ::1"}},
			} {
				q := c.Msg()
				c.check(t, q, tr.do(t, f, q))
			}
		}
	}
}

func TestSpecificIP(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:53": true, "[::1]:8600": true, "0.0.0.0:53": false, "[::]:53": false, ":53": false, "localhost:53": false,
	} {
		if got := specificIP(addr); got != want {
			t.Errorf("specificIP(%q) = %v", addr, got)
		}
	}
}
