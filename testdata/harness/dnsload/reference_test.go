package main

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestReplayHandler serves canned answers over real UDP and TCP sockets
// and checks that each reply carries the query's ID and the question's
// case, with the canned records.
func TestReplayHandler(t *testing.T) {
	ds := newDataset("service.local", 1, 2)
	q := ds.questions(kindA)[0]
	canned := new(dns.Msg)
	canned.SetQuestion(q.Name, q.Type)
	canned.Response, canned.Authoritative = true, true
	for _, in := range ds.Services[0].Instances {
		canned.Answer = append(canned.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30},
			A:   net.IP(in.Addr.AsSlice()),
		})
	}
	wire, err := canned.Pack()
	if err != nil {
		t.Fatal(err)
	}
	h := newReplayHandler([]cannedAnswer{{Name: q.Name, Type: q.Type, Wire: wire}})

	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			addr := startTestServer(t, proto, h)
			c := &dns.Client{Net: proto, Timeout: 2 * time.Second}
			for _, name := range []string{"svc000.service.local.", "SvC000.Service.LOCAL."} {
				m := new(dns.Msg)
				m.SetQuestion(name, dns.TypeA)
				resp, _, err := c.Exchange(m, addr)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Id != m.Id || resp.Question[0].Name != name {
					t.Errorf("reply ID %d question %q, want %d %q", resp.Id, resp.Question[0].Name, m.Id, name)
				}
				if err := checkAnswer(ds, q, resp); err != nil {
					t.Error(err)
				}
			}
			m := new(dns.Msg)
			m.SetQuestion("other.service.local.", dns.TypeA)
			resp, _, err := c.Exchange(m, addr)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Rcode != dns.RcodeServerFailure {
				t.Errorf("question without a canned answer: rcode %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
			}
		})
	}
}

func startTestServer(t *testing.T, proto string, h dns.Handler) string {
	t.Helper()
	started := make(chan struct{})
	s := &dns.Server{Handler: h, NotifyStartedFunc: func() { close(started) }}
	var addr string
	if proto == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.PacketConn, addr = pc, pc.LocalAddr().String()
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.Listener, addr = l, l.Addr().String()
	}
	go s.ActivateAndServe()
	t.Cleanup(func() { _ = s.Shutdown() })
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("server did not start")
	}
	return addr
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 148512: "148,512", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
