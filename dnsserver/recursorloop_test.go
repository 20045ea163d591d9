package dnsserver

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"

	"github.com/beacon-dns/beacon/internal/testkit"
)

func TestSelf(t *testing.T) {
	local := func() []netip.Addr {
		return []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}
	}
	for _, c := range []struct {
		recursor, own string
		want          bool
	}{
		{"127.0.0.1:8600", "127.0.0.1:8600", true},
		{"127.0.0.1:53", "127.0.0.1:8600", false},
		{"127.0.0.2:8600", "127.0.0.1:8600", false},
		{"[::ffff:127.0.0.1]:8600", "127.0.0.1:8600", true},
		{"127.0.0.1:8600", "0.0.0.0:8600", true},
		{"127.9.9.9:8600", "0.0.0.0:8600", true},
		{"192.0.2.10:8600", "0.0.0.0:8600", true},
		{"192.0.2.11:8600", "0.0.0.0:8600", false},
		{"[::1]:8600", "0.0.0.0:8600", false},
		{"[::1]:8600", "[::]:8600", true},
		{"127.0.0.1:8600", "[::]:8600", true},
		{"[2001:db8::10]:8600", "[::]:8600", true},
		{"0.0.0.0:8600", "127.0.0.1:8600", false},
		{"0.0.0.0:8600", "0.0.0.0:8600", true},
	} {
		if got := self(netip.MustParseAddrPort(c.recursor), netip.MustParseAddrPort(c.own), local); got != c.want {
			t.Errorf("self(%s, listening on %s) = %v, want %v", c.recursor, c.own, got, c.want)
		}
	}
}

// TestRecursorIsSelf: a server whose recursor is its own address, as an
// IP or as a name, refuses to start.
func TestRecursorIsSelf(t *testing.T) {
	for _, rec := range []string{"127.0.0.1:%d", "localhost:%d", "[::ffff:127.0.0.1]:%d"} {
		port := freePort(t)
		r := fmt.Sprintf(rec, port)
		srv, err := New(Config{Addr: fmt.Sprintf("127.0.0.1:%d", port), Logger: quiet, Recursors: []string{r}}, fakeSource{})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "own address") {
			srv.Shutdown(t.Context())
			t.Errorf("recursor %s on a server listening there: Start %v, want a refusal", r, err)
		}
	}
}

// relay is a recursor that sends every query on to next, either as it
// came (as dnsmasq does) or rebuilt from the question alone (as unbound
// does), and counts them.
type relay struct {
	next    atomic.Pointer[string]
	rebuild bool
	n       atomic.Int64
}

func (rl *relay) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	rl.n.Add(1)
	q := r.Copy()
	if rl.rebuild {
		q = new(dns.Msg).SetQuestion(r.Question[0].Name, r.Question[0].Qtype)
		q.SetEdns0(1232, false)
	}
	q.Id = dns.Id()
	reply, _, err := (&dns.Client{Timeout: 3 * time.Second}).Exchange(q, *rl.next.Load())
	if err != nil {
		w.WriteMsg(new(dns.Msg).SetRcode(r, dns.RcodeServerFailure))
		return
	}
	reply.Id = r.Id
	w.WriteMsg(reply)
}

// requests sums beacon_dns_requests_total: the queries the server
// answered.
func requests(t *testing.T, f *fixture) float64 {
	t.Helper()
	var sum float64
	for _, row := range f.srv.h.met.requests {
		for _, c := range row {
			var m dto.Metric
			c.Write(&m)
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// TestRecursorLoop runs a beacon whose recursor sends everything back to
// it. Each client query costs one forward, and gets SERVFAIL: at once
// where the recursor passes the query on as it came, and after one
// recursor timeout where it builds a query of its own.
func TestRecursorLoop(t *testing.T) {
	for _, rebuild := range []bool{false, true} {
		t.Run(fmt.Sprintf("rebuilt=%v", rebuild), func(t *testing.T) {
			rl := &relay{rebuild: rebuild}
			up := upstream(t, rl.ServeDNS)
			f := newFixture(t, func(cfg *Config) { cfg.Recursors, cfg.RecursorTimeout = []string{up}, 500*time.Millisecond })
			addr := f.srv.UDPAddr().String()
			rl.next.Store(&addr)
			for i, network := range []string{"udp", "tcp", "udp"} {
				a := f.srv.UDPAddr()
				if network == "tcp" {
					a = f.srv.TCPAddr()
				}
				q := new(dns.Msg).SetQuestion(fmt.Sprintf("loop%d.example.", i), dns.TypeA)
				r := exchange(t, network, a, q)
				if r.Rcode != dns.RcodeServerFailure {
					t.Errorf("over %s: rcode %s, want SERVFAIL", network, dns.RcodeToString[r.Rcode])
				}
				if got := rl.n.Load(); got != int64(i+1) {
					t.Fatalf("after %d client queries the recursor got %d", i+1, got)
				}
			}
			// The server asked itself once per client query, and is
			// not asking any more.
			if got := waitCounterSum(t, f, 6); got != 6 {
				t.Errorf("the server answered %v queries, want 3 from the client and 3 from itself", got)
			}
		})
	}
}

// settled waits for the resolver's retries, if any, to arrive and end:
// until no query has reached the server for half a second, at most 5 s.
// It returns the requests the server answered.
func settled(t *testing.T, f *fixture) float64 {
	last, quiet := requests(t, f), time.Now()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && time.Since(quiet) < 500*time.Millisecond; {
		time.Sleep(10 * time.Millisecond)
		if n := requests(t, f); n != last {
			last, quiet = n, time.Now()
		}
	}
	return last
}

// waitCounterSum waits up to a second for requests(f) to reach want:
// requests are counted once their reply is written.
func waitCounterSum(t *testing.T, f *fixture, want float64) float64 {
	deadline := time.Now().Add(time.Second)
	got := requests(t, f)
	for got < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		got = requests(t, f)
	}
	return got
}

// TestRecursorLoopThroughResolvers puts a real dnsmasq and a real
// unbound, each forwarding everything to beacon, behind beacon as its
// recursor. A query outside the zone ends in SERVFAIL after a few
// forwards at most (it used to take 1,025): one through dnsmasq, which
// passes the mark on; through unbound, one for the client's flags and
// one for unbound's own, each answering unbound's retries while it is in
// flight and for a second after it failed.
func TestRecursorLoopThroughResolvers(t *testing.T) {
	for _, c := range []struct {
		name, conf, beacon string
		args               func(conf string) []string
	}{
		{"dnsmasq", "dnsmasqloop.conf", "127.0.0.1#%s", func(conf string) []string { return []string{"-k", "-C", conf, "--pid-file"} }},
		{"unbound", "unboundloop.conf", "127.0.0.1@%s", func(conf string) []string { return []string{"-d", "-c", conf} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := testkit.Tool(t, c.name)
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			f := newFixture(t, func(cfg *Config) { cfg.Recursors, cfg.RecursorTimeout = []string{addr}, 500*time.Millisecond })
			dir := t.TempDir()
			conf := config(t, dir, c.conf, map[string]any{
				"Dir": dir, "Port": port, "Beacon": fmt.Sprintf(c.beacon, portOf(f.srv.UDPAddr())),
			})
			daemon(t, addr, bin, c.args(conf)...)
			q := new(dns.Msg).SetQuestion("loop.example.", dns.TypeA)
			cl := &dns.Client{Timeout: 10 * time.Second}
			r, _, err := cl.Exchange(q, f.srv.UDPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != dns.RcodeServerFailure {
				t.Errorf("rcode %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
			}
			settled(t, f)
			if sent := f.srv.h.fwd.sent.Load(); sent > 4 {
				t.Errorf("one query made beacon forward %d times", sent)
			} else {
				t.Logf("one query made beacon forward %d times", sent)
			}
		})
	}
}

// TestForwardShared: identical questions asked while one is being
// forwarded share its forward, each answered with its own ID and case;
// a question whose forward failed fails at once for a while, without
// asking again.
func TestForwardShared(t *testing.T) {
	release := make(chan struct{})
	var asked atomic.Int64
	up := upstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		asked.Add(1)
		<-release
		answerA("192.0.2.1", false)(w, r)
	})
	// A long timeout: on a loaded machine gathering every query may take
	// longer than the default, and a timed-out forward would be asked again.
	f := newFixture(t, func(cfg *Config) { cfg.Recursors, cfg.RecursorTimeout = []string{up}, time.Minute })
	names := []string{"shared.example.", "SHARED.example.", "Shared.Example."}
	type result struct {
		q, r *dns.Msg
	}
	results := make(chan result, 3*len(names))
	for i := range 3 * len(names) {
		go func() {
			q := new(dns.Msg).SetQuestion(names[i%len(names)], dns.TypeA)
			c := &dns.Client{Timeout: 5 * time.Second}
			r, _, err := c.Exchange(q, f.srv.UDPAddr().String())
			if err != nil {
				r = nil
			}
			results <- result{q, r}
		}()
	}
	// Every query is in: the first one's forward, the rest waiting on it.
	deadline := time.Now().Add(5 * time.Second)
	for asked.Load() < 1 || len(f.srv.h.fwd.sem) < 3*len(names) {
		if time.Now().After(deadline) {
			t.Fatalf("%d forwards and %d queries in flight, want 1 and %d", asked.Load(), len(f.srv.h.fwd.sem), 3*len(names))
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 3 * len(names) {
		res := <-results
		if res.r == nil || res.r.Id != res.q.Id || res.r.Question[0].Name != res.q.Question[0].Name ||
			len(res.r.Answer) != 1 || res.r.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
			t.Errorf("query %v: reply %v", res.q.Question, res.r)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("the recursor was asked %d times, want once", n)
	}

	// A failure is kept.
	failing := upstream(t, counting(&asked, rcodeOnly(dns.RcodeServerFailure)))
	asked.Store(0)
	ff := newFixture(t, func(cfg *Config) { cfg.Recursors = []string{failing} })
	for range 3 {
		r := exchange(t, "udp", ff.srv.UDPAddr(), new(dns.Msg).SetQuestion("down.example.", dns.TypeA))
		if r.Rcode != dns.RcodeServerFailure {
			t.Errorf("rcode %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
		}
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("a failing recursor was asked %d times within a second, want once", n)
	}
}
