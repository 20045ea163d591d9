package dnsserver

import (
	"context"
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

// shortTCP makes the waits for a first and a later query short, so the
// limits tests need no long sleeps.
func shortTCP(wait time.Duration) func(*Server) {
	return func(s *Server) { s.tcpLim.first, s.tcpLim.idle = wait, wait }
}

// drip sends one chunk every interval until stop is closed or a write
// fails.
func drip(conn net.Conn, interval time.Duration, chunks func(i int) []byte, stop <-chan struct{}) {
	for i := 0; ; i++ {
		b := chunks(i)
		if b == nil {
			return
		}
		if _, err := conn.Write(b); err != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
	}
}

// waitClosed reads from conn, dropping replies, until the server closes
// it or limit passes, and returns how long it took and the replies.
func waitClosed(t *testing.T, conn net.Conn, limit time.Duration) (time.Duration, []*dns.Msg) {
	t.Helper()
	start := time.Now()
	conn.SetReadDeadline(start.Add(limit))
	co := &dns.Conn{Conn: conn}
	var replies []*dns.Msg
	for {
		r, err := co.ReadMsg()
		if err == nil {
			replies = append(replies, r)
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %s", limit)
		}
		return time.Since(start), replies
	}
}

// TestTCPOnlyQueriesKeepAlive checks that the wait for the next query
// holds for every kind of input: only a complete query that was
// answered restarts it; empty messages, garbage, responses, cut length
// prefixes and queries dripping in a byte at a time all count against
// it, and the server closes the connection when it ends.
func TestTCPOnlyQueriesKeepAlive(t *testing.T) {
	const wait = 300 * time.Millisecond
	f := newTunedFixture(t, nil, shortTCP(wait))
	seed(t, f)
	query, _ := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA).Pack()
	framed := append([]byte{0, byte(len(query))}, query...)
	response := append([]byte(nil), framed...)
	response[4] |= 0x80 // QR: a response, which servers ignore
	garbage := append([]byte{0, 14}, query[:12]...)
	garbage = append(garbage, 0xff, 0xff) // a header, then a question cut short: FORMERR
	repeat := func(b []byte) func(int) []byte { return func(int) []byte { return b } }
	for _, c := range []struct {
		name    string
		first   []byte // sent once at the start, answered
		chunks  func(i int) []byte
		every   time.Duration
		formerr bool
	}{
		{name: "zero-length messages", chunks: repeat([]byte{0, 0}), every: 50 * time.Millisecond},
		{name: "zero-length messages after a query", first: framed, chunks: repeat([]byte{0, 0}), every: 50 * time.Millisecond},
		{name: "short garbage", chunks: repeat([]byte{0, 3, 1, 2, 3}), every: 50 * time.Millisecond},
		{name: "malformed queries", chunks: repeat(garbage), every: 50 * time.Millisecond, formerr: true},
		{name: "responses", chunks: repeat(response), every: 50 * time.Millisecond},
		{name: "half a length prefix", chunks: func(i int) []byte {
			if i > 0 {
				return nil
			}
			return []byte{0}
		}, every: time.Millisecond},
		{name: "a message cut short", chunks: func(i int) []byte {
			if i > 0 {
				return nil
			}
			return framed[:10]
		}, every: time.Millisecond},
		{name: "a query dripping in", first: framed, chunks: func(i int) []byte {
			if i >= len(framed) {
				return nil
			}
			return framed[i : i+1]
		}, every: 40 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", f.srv.TCPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if c.first != nil {
				conn.Write(c.first)
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				if r, err := (&dns.Conn{Conn: conn}).ReadMsg(); err != nil || len(r.Answer) != 2 {
					t.Fatalf("first query: %v %v", r, err)
				}
			}
			stop := make(chan struct{})
			defer close(stop)
			go drip(conn, c.every, c.chunks, stop)
			// The drip alone would go on for seconds; the server must
			// close within its wait, plus slack for a busy machine.
			took, replies := waitClosed(t, conn, 10*wait)
			if took < wait/2 {
				t.Errorf("closed after %s, before the %s wait ended", took, wait)
			}
			for _, r := range replies {
				if !c.formerr || r.Rcode != dns.RcodeFormatError {
					t.Errorf("unexpected reply %v", r)
				}
			}
			if c.formerr && len(replies) == 0 {
				t.Errorf("no FORMERR for malformed queries")
			}
		})
	}

	// The control: queries within the wait keep the connection open
	// well beyond it.
	conn, err := dns.Dial("tcp", f.srv.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 8 {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if err := conn.WriteMsg(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA)); err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		if r, err := conn.ReadMsg(); err != nil || len(r.Answer) != 2 {
			t.Fatalf("query %d, %s in: %v %v", i, time.Duration(i)*wait/3, r, err)
		}
		time.Sleep(wait / 3)
	}
}

// TestTCPSlotsNotHeld fills every TCP slot with clients sending
// zero-length messages, and checks that a real client is still answered
// once their wait ends.
func TestTCPSlotsNotHeld(t *testing.T) {
	const wait, slots = 300 * time.Millisecond, 3
	f := newTunedFixture(t, func(c *Config) { c.MaxTCPConns = slots }, shortTCP(wait))
	seed(t, f)
	stop := make(chan struct{})
	defer close(stop)
	for range slots {
		conn, err := net.Dial("tcp", f.srv.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go drip(conn, 50*time.Millisecond, func(int) []byte { return []byte{0, 0} }, stop)
	}
	time.Sleep(wait / 3) // the drips hold every slot
	start := time.Now()
	c := &dns.Client{Net: "tcp", Timeout: 10 * wait}
	r, _, err := c.Exchange(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA), f.srv.TCPAddr().String())
	if err != nil || len(r.Answer) != 2 {
		t.Fatalf("with every slot taken by empty messages: %v %v after %s", r, err, time.Since(start))
	}
}

// TestTCPLimitFlushesAnswers pipelines more queries than a connection
// may carry, with answers large enough to be queued in the socket when
// the limit is reached, and checks that every answer up to the limit
// arrives, in order, before a clean close.
func TestTCPLimitFlushesAnswers(t *testing.T) {
	const limit, sent = 40, 100
	f := newFixture(t, func(c *Config) { c.MaxTCPQueries = limit })
	seedBig(t, f, 120) // about 7 KB per SRV answer: 280 KB up to the limit
	conn, err := net.Dial("tcp", f.srv.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	co := &dns.Conn{Conn: conn}
	go func() {
		for i := range sent {
			q := new(dns.Msg).SetQuestion("big.service.local.", dns.TypeSRV)
			q.Id = uint16(i)
			if co.WriteMsg(q) != nil {
				return // the server closed after its limit
			}
		}
	}()
	// Read slowly at first, so answers pile up in the server's socket
	// when it reaches its limit.
	time.Sleep(200 * time.Millisecond)
	for i := range limit {
		r, err := co.ReadMsg()
		if err != nil {
			t.Fatalf("answer %d of %d: %v", i+1, limit, err)
		}
		if r.Id != uint16(i) || len(r.Answer) != 120 {
			t.Fatalf("answer %d: ID %d with %d records, want ID %d with 120", i+1, r.Id, len(r.Answer), i)
		}
	}
	if r, err := co.ReadMsg(); !errors.Is(err, io.EOF) {
		t.Fatalf("after %d answers: %v %v, want a clean close (EOF)", limit, r, err)
	}
}

// TestTCPShutdownIdle checks that shutting down does not wait for idle
// connections or for one finishing after its query limit.
func TestTCPShutdownIdle(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxTCPQueries = 1 })
	seed(t, f)
	idle, err := net.Dial("tcp", f.srv.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	lingering, err := dns.Dial("tcp", f.srv.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer lingering.Close()
	lingering.SetDeadline(time.Now().Add(5 * time.Second))
	lingering.WriteMsg(new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA))
	if _, err := lingering.ReadMsg(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Shutdown took %s with an idle and a lingering connection", took)
	}
	idle.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection after Shutdown: %v, want EOF", err)
	}
}
