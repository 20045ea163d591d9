package dnsserver

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestTCPPipelining sends many queries on one connection without waiting
// for answers (RFC 7766 section 6.2.1.1), more than the 128 after which
// miekg/dns closes a connection by default, and reads every answer.
func TestTCPPipelining(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	seedBig(t, f, 60)
	conn, err := dns.Dial("tcp", f.srv.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	const n = 500
	cases := []struct {
		name    string
		qtype   uint16
		rcode   int
		answers int
	}{
		{"web.service.local.", dns.TypeSRV, dns.RcodeSuccess, 3},
		{"big.service.local.", dns.TypeSRV, dns.RcodeSuccess, 60},
		{"nope.service.local.", dns.TypeA, dns.RcodeNameError, 0},
		{"WEB.service.local.", dns.TypeAAAA, dns.RcodeSuccess, 1},
	}
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			c := cases[i%len(cases)]
			q := new(dns.Msg).SetQuestion(c.name, c.qtype)
			q.Id = uint16(i)
			if err := conn.WriteMsg(q); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	seen := make([]bool, n)
	for range n {
		r, err := conn.ReadMsg()
		if err != nil {
			t.Fatalf("reading answers: %v", err)
		}
		if int(r.Id) >= n || seen[r.Id] {
			t.Fatalf("answer with ID %d unasked or repeated", r.Id)
		}
		seen[r.Id] = true
		c := cases[int(r.Id)%len(cases)]
		if r.Question[0].Name != c.name || r.Rcode != c.rcode || len(r.Answer) != c.answers || r.Truncated {
			t.Fatalf("answer %d: %v %s %d answers TC %v, want %s %s %d answers", r.Id, r.Question, dns.RcodeToString[r.Rcode], len(r.Answer), r.Truncated,
				c.name, dns.RcodeToString[c.rcode], c.answers)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("writing queries: %v", err)
	}
}

// TestTCPIdleTimeout checks that a connection stays open between queries
// that come within the idle timeout, and is closed by the server once it
// has been idle that long.
func TestTCPIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	f := newFixture(t, func(c *Config) { c.TCPIdleTimeout = idle })
	seed(t, f)
	conn, err := dns.Dial("tcp", f.srv.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 4 {
		if i > 0 {
			time.Sleep(idle / 4)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if err := conn.WriteMsg(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)); err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		if r, err := conn.ReadMsg(); err != nil || len(r.Answer) != 2 {
			t.Fatalf("query %d on the same connection: %v %v", i, r, err)
		}
	}
	start := time.Now()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.ReadMsg()
	var ne net.Error
	switch waited := time.Since(start); {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("connection still open after %s idle, want closed after %s", waited, idle)
	case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
		t.Logf("connection ended with %v", err) // a reset is a close too
	}
	if waited := time.Since(start); waited < idle/2 || waited > idle+2*time.Second {
		t.Errorf("closed after %s idle, want about %s", waited, idle)
	}
}

func TestTCPMaxQueries(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxTCPQueries = 3 })
	seed(t, f)
	conn, err := dns.Dial("tcp", f.srv.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	for i := range 3 {
		if err := conn.WriteMsg(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)); err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		if r, err := conn.ReadMsg(); err != nil || len(r.Answer) != 2 {
			t.Fatalf("query %d: %v %v", i, r, err)
		}
	}
	conn.WriteMsg(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA))
	if r, err := conn.ReadMsg(); err == nil {
		t.Fatalf("a 4th query was answered on a connection limited to 3: %v", r)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection left open after its last allowed query")
	}
}
