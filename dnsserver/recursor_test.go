package dnsserver

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// upstream starts a miekg server on 127.0.0.1 (UDP and TCP, one port)
// answering with h, and returns its address.
func upstream(t *testing.T, h dns.HandlerFunc) string {
	t.Helper()
	pc, ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 2)
	for _, s := range []*dns.Server{
		{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { started <- struct{}{} }},
		{Listener: ln, Handler: h, NotifyStartedFunc: func() { started <- struct{}{} }},
	} {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	<-started
	<-started
	return pc.LocalAddr().String()
}

// silent returns the address of a UDP socket that never answers, with
// no TCP listener behind it.
func silent(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func answerA(ip string, viaTCPOnly bool) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		m.RecursionAvailable = true
		if _, tcp := w.LocalAddr().(*net.TCPAddr); viaTCPOnly && !tcp {
			m.Truncated = true
		} else {
			rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A " + ip)
			m.Answer = []dns.RR{rr}
		}
		w.WriteMsg(m)
	}
}

func rcodeOnly(rc int) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		w.WriteMsg(new(dns.Msg).SetRcode(r, rc))
	}
}

func TestRecursors(t *testing.T) {
	good := upstream(t, answerA("192.0.2.1", false))
	other := upstream(t, answerA("192.0.2.2", false))
	tcpOnly := upstream(t, answerA("192.0.2.3", true))
	failing := upstream(t, rcodeOnly(dns.RcodeServerFailure))
	nx := upstream(t, rcodeOnly(dns.RcodeNameError))
	for _, c := range []struct {
		name      string
		recursors []string
		rcode     int
		want      string
	}{
		{"forwards", []string{good, other}, dns.RcodeSuccess, "192.0.2.1"},
		{"retries truncated replies over TCP", []string{tcpOnly}, dns.RcodeSuccess, "192.0.2.3"},
		{"next on timeout", []string{silent(t), other}, dns.RcodeSuccess, "192.0.2.2"},
		{"next on SERVFAIL", []string{failing, good}, dns.RcodeSuccess, "192.0.2.1"},
		{"NXDOMAIN is an answer", []string{nx, good}, dns.RcodeNameError, ""},
		{"SERVFAIL when all fail", []string{failing, silent(t)}, dns.RcodeServerFailure, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, func(cfg *Config) { cfg.Recursors = c.recursors; cfg.RecursorTimeout = 300 * time.Millisecond })
			fm := newFixture(t, func(cfg *Config) {
				cfg.Recursors = c.recursors
				cfg.RecursorTimeout = 300 * time.Millisecond
				cfg.UDPReaders = -1
			})
			seed(t, f)
			for _, tr := range append(transports, transport{"udp-miekg", func(t testing.TB, _ *fixture, q *dns.Msg) *dns.Msg {
				return exchange(t, "udp", fm.srv.UDPAddr(), q)
			}}) {
				q := new(dns.Msg).SetQuestion("Example.COM.", dns.TypeA)
				r := tr.do(t, f, q)
				if r.Rcode != c.rcode || r.Id != q.Id || r.Question[0].Name != "Example.COM." {
					t.Fatalf("over %s: rcode %s ID %d question %v, want %s ID %d", tr.name, dns.RcodeToString[r.Rcode], r.Id, r.Question, dns.RcodeToString[c.rcode], q.Id)
				}
				if c.want != "" && (len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != c.want) {
					t.Fatalf("over %s: answer %v, want %s", tr.name, r.Answer, c.want)
				}
			}
			// The zone is still answered from the registry.
			zc := Case{Qname: "web.service.local.", Qtype: dns.TypeAAAA, Answer: []string{"web.service.local. 30 IN AAAA 2001:db8::7"}}
			q := zc.Msg()
			zc.check(t, q, exchange(t, "udp", f.srv.UDPAddr(), q))
		})
	}
}

// TestForwardingDoesNotBlockZone checks that a recursor that never
// answers costs zone queries nothing.
func TestForwardingDoesNotBlockZone(t *testing.T) {
	f := newFixture(t, func(cfg *Config) { cfg.Recursors = []string{silent(t)}; cfg.RecursorTimeout = 3 * time.Second })
	seed(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 20 {
		go func() {
			c := &dns.Client{Timeout: 5 * time.Second}
			c.ExchangeContext(ctx, new(dns.Msg).SetQuestion("slow.example.", dns.TypeA), f.srv.UDPAddr().String())
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the forwards start
	start := time.Now()
	for range 20 {
		r := exchange(t, "udp", f.srv.UDPAddr(), new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA))
		if len(r.Answer) != 2 {
			t.Fatalf("answers %v", r.Answer)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("20 zone queries took %s while forwards hung", d)
	}
}

func TestStartErrors(t *testing.T) {
	f := newFixture(t, nil)
	srv, err := New(Config{Addr: f.srv.UDPAddr().String(), Logger: quiet}, f.st)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Start()
	if err == nil || !strings.Contains(err.Error(), f.srv.UDPAddr().String()) {
		t.Errorf("Start on a taken address: %v, want an error naming it", err)
	}
	if srv.Serving() == nil {
		t.Errorf("Serving() nil for a server that failed to start")
	}
	if f.srv.Serving() != nil {
		t.Errorf("Serving() = %v for a running server", f.srv.Serving())
	}
}

// withOPT answers like h, then gives the reply an OPT record whether or
// not the query had one, with a cookie option, as a careless upstream may.
func withOPT(h dns.HandlerFunc) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		h(&optWriter{w}, r)
	}
}

type optWriter struct{ dns.ResponseWriter }

func (w *optWriter) WriteMsg(m *dns.Msg) error {
	if m.IsEdns0() == nil {
		m.SetEdns0(1400, false)
	}
	opt := m.IsEdns0()
	opt.Option = append(opt.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708a1a2a3a4a5a6a7a8"})
	return w.ResponseWriter.WriteMsg(m)
}

// TestForwardedEDNS checks that a forwarded reply has an OPT record
// exactly when the client's query had one (RFC 6891 section 6.1.1), with
// the client's DO bit, whatever the recursor sent or whether any answered.
func TestForwardedEDNS(t *testing.T) {
	for _, c := range []struct {
		name  string
		up    []string
		rcode int
	}{
		{"recursor without EDNS", []string{upstream(t, rcodeOnly(dns.RcodeNameError))}, dns.RcodeNameError},
		{"recursor adding OPT", []string{upstream(t, withOPT(answerA("192.0.2.1", false)))}, dns.RcodeSuccess},
		{"every recursor fails", []string{upstream(t, rcodeOnly(dns.RcodeServerFailure))}, dns.RcodeServerFailure},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, func(cfg *Config) { cfg.Recursors = c.up; cfg.RecursorTimeout = 300 * time.Millisecond })
			for _, tr := range transports {
				for _, do := range []bool{false, true} {
					for _, edns := range []bool{false, true} {
						q := new(dns.Msg).SetQuestion("x.example.", dns.TypeA)
						if edns {
							q.SetEdns0(1232, do)
						}
						r := tr.do(t, f, q)
						if r.Rcode != c.rcode {
							t.Fatalf("over %s: rcode %s, want %s", tr.name, dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
						}
						opt := r.IsEdns0()
						if (opt != nil) != edns {
							t.Errorf("over %s: reply OPT %v, query had OPT: %v", tr.name, opt, edns)
						}
						if opt != nil && (opt.Do() != do || opt.Version() != 0 || len(opt.Option) != 0) {
							t.Errorf("over %s: reply OPT %v, want version 0, DO=%v, no options", tr.name, opt, do)
						}
					}
				}
			}
		})
	}
}
