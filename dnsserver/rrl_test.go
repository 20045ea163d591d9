package dnsserver

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// outcome is what a client sees of one response.
type outcome byte

const (
	answered outcome = 'A' // the answer
	slipped  outcome = 'S' // an empty reply with TC set
	dropped  outcome = '-' // nothing
)

// TestRateLimit asks one server over a real UDP socket, one query at a
// time, and checks each response: answered within the limit; over it,
// slipped or dropped in turn; answered again in the next second of the
// server's clock. Over TCP nothing is limited.
func TestRateLimit(t *testing.T) {
	for _, c := range []struct {
		name       string
		rate, slip int
		want       string // outcome of each UDP query in one second
	}{
		{"off", 0, 2, "AAAAAAAAAA"},
		{"slip 2", 3, 2, "AAAS-S-S-S"},
		{"slip 1", 3, 1, "AAASSSSSSS"},
		{"slip 0 drops all", 3, 0, "AAA-------"},
		{"slip 3", 2, 3, "AAS--S--S-"},
		{"one a second", 1, 2, "AS-S"},
	} {
		for _, m := range udpModes {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				f := newFixture(t, func(cfg *Config) {
					cfg.RateLimit, cfg.RateLimitSlip, cfg.UDPReaders = c.rate, c.slip, m.readers
				})
				seed(t, f)
				conn, err := net.Dial("udp", f.srv.UDPAddr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				cl := &rrlClient{t: t, f: f, conn: &dns.Conn{Conn: conn}}
				for round := range 2 {
					var got strings.Builder
					for i := range len(c.want) {
						q := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeSRV)
						if i%2 == 1 {
							q = withEDNS(q, 1232, true)
						}
						got.WriteByte(byte(cl.ask(q, outcome(c.want[i]))))
					}
					if got.String() != c.want {
						t.Errorf("round %d: outcomes %s, want %s", round, got.String(), c.want)
					}
					// The next second starts afresh.
					f.clk.Add(time.Second)
				}
				// TCP is never limited.
				for range 2 * len(c.want) {
					r := exchange(t, "tcp", f.srv.TCPAddr(), new(dns.Msg).SetQuestion("web.service.local.", dns.TypeSRV))
					if r.Truncated || len(r.Answer) != 3 {
						t.Fatalf("over TCP: TC %v, %d answers; want the whole answer", r.Truncated, len(r.Answer))
					}
				}
			})
		}
	}
}

// rrlClient sends one query at a time and tells what became of it.
type rrlClient struct {
	t     *testing.T
	f     *fixture
	conn  *dns.Conn
	drops float64 // responses the server should have dropped so far
}

// ask sends q and returns its outcome. A reply is read when one is due.
// When a drop is due it waits instead until the server counted one; a
// reply sent all the same shows up, with the wrong ID, at the next read.
func (c *rrlClient) ask(q *dns.Msg, want outcome) outcome {
	t := c.t
	t.Helper()
	if err := c.conn.WriteMsg(q); err != nil {
		t.Fatal(err)
	}
	if want == dropped {
		c.drops++
		if l := c.f.srv.rrl; l == nil || waitCounter(l.dropped, c.drops) != c.drops {
			return '?'
		}
		return dropped
	}
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r, err := c.conn.ReadMsg()
	if err != nil {
		t.Fatalf("no reply to query %d: %v", q.Id, err)
	}
	if r.Id != q.Id {
		t.Fatalf("reply ID %d, want %d: a reply to an earlier query that should have been dropped", r.Id, q.Id)
	}
	if !r.Truncated {
		if len(r.Answer) != 3 || r.Rcode != dns.RcodeSuccess {
			t.Errorf("answer: rcode %s, %d records", dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		return answered
	}
	// A slip: the question echoed, nothing else but OPT as asked, no
	// larger than the query.
	if !r.Response || r.Rcode != dns.RcodeSuccess || len(r.Answer)+len(r.Ns)+len(withoutOPT(r.Extra)) != 0 ||
		len(r.Question) != 1 || r.Question[0] != q.Question[0] || r.Authoritative || r.RecursionAvailable {
		t.Errorf("slip reply %v", r)
	}
	qopt, ropt := q.IsEdns0(), r.IsEdns0()
	if (qopt == nil) != (ropt == nil) || ropt != nil && ropt.Do() != qopt.Do() {
		t.Errorf("slip reply OPT %v for a query with OPT %v", ropt, qopt)
	}
	qb, _ := q.Pack()
	rb, _ := r.Pack()
	if len(rb) > len(qb) {
		t.Errorf("slip reply of %d bytes to a query of %d", len(rb), len(qb))
	}
	return slipped
}

// TestRateLimitNetworks: responses count per /24 in IPv4 and per /56 in
// IPv6, and one network over its limit leaves the others alone.
func TestRateLimitNetworks(t *testing.T) {
	l := newLimiter(&Config{RateLimit: 2, RateLimitSlip: 1, Now: newClock().Now})
	for _, c := range []struct {
		ip   string
		want verdict
	}{
		{"192.0.2.1", pass}, {"192.0.2.200", pass}, {"::ffff:192.0.2.7", slip},
		{"192.0.3.1", pass}, {"198.51.100.1", pass},
		{"2001:db8:0:1::1", pass}, {"2001:db8:0:ff:ffff::1", pass}, {"2001:db8::", slip},
		{"2001:db8:0:100::1", pass},
		// IPv4 and IPv6 networks of the same bits are apart.
		{"0.0.0.1", pass}, {"::1", pass}, {"::2", pass}, {"0.0.0.9", pass}, {"0.0.0.2", slip},
	} {
		if got := l.check(netip.MustParseAddr(c.ip), 7); got != c.want {
			t.Errorf("%s: verdict %d, want %d", c.ip, got, c.want)
		}
	}
	// A new second, a new count.
	if got := l.check(netip.MustParseAddr("192.0.2.1"), 8); got != pass {
		t.Errorf("next second: verdict %d, want pass", got)
	}
}

// TestRateLimitSpread: with far more networks than slots, none that
// stays within the limit is ever limited, whatever shares its slot.
func TestRateLimitSpread(t *testing.T) {
	l := newLimiter(&Config{RateLimit: 3, RateLimitSlip: 2, Now: newClock().Now})
	limited := 0
	for range 3 {
		for n := range 4 * rrlSlots {
			if l.check(netip.AddrFrom4([4]byte{byte(n >> 16), byte(n >> 8), byte(n), 1}), 42) != pass {
				limited++
			}
		}
	}
	if limited != 0 {
		t.Errorf("%d responses limited for networks within the limit", limited)
	}
}

func TestRateLimitMetrics(t *testing.T) {
	f := newFixture(t, func(cfg *Config) { cfg.RateLimit, cfg.RateLimitSlip = 1, 2 })
	seed(t, f)
	for range 4 {
		exchangeNoWait(t, f, new(dns.Msg).SetQuestion("web.service.local.", dns.TypeA))
	}
	if s, d := waitCounter(f.srv.rrl.slipped, 2), waitCounter(f.srv.rrl.dropped, 1); s != 2 || d != 1 {
		t.Errorf("slipped %v dropped %v, want 2 and 1", s, d)
	}
	if n, err := testutil.GatherAndCount(f.reg, "beacon_dns_rate_limited_responses_total"); err != nil || n != 2 {
		t.Errorf("beacon_dns_rate_limited_responses_total: %d series, %v; want slipped and dropped", n, err)
	}
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, f)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// exchangeNoWait sends q over UDP and reads nothing, for queries that
// may be dropped.
func exchangeNoWait(t *testing.T, f *fixture, q *dns.Msg) {
	t.Helper()
	conn, err := net.Dial("udp", f.srv.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &dns.Conn{Conn: conn}
	if err := c.WriteMsg(q); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRateLimit measures the UDP path from bytes to reply (parse,
// cache hit, write), as the batched reader runs it, without the rate
// limit, with it and within it, and with it and over it (every response
// slipped or dropped); each serially and from every P at once, when all
// queries come from one network and so count in one slot.
func BenchmarkRateLimit(b *testing.B) {
	for _, c := range []struct {
		name string
		rate int
	}{{"off", 0}, {"within", 1 << 30}, {"over", 1}} {
		f := newFixture(b, func(cfg *Config) { cfg.RateLimit, cfg.RateLimitSlip, cfg.Now = c.rate, 2, time.Now })
		seed(b, f)
		u := &udpServer{h: f.srv.h, rrl: f.srv.rrl, local: udpLocal}
		q, err := new(dns.Msg).SetQuestion("web.service.local.", dns.TypeSRV).Pack()
		if err != nil {
			b.Fatal(err)
		}
		run := func(pb interface{ Next() bool }) {
			buf := make([]byte, 0, 4096)
			w := &batchWriter{u: u}
			for i := 0; pb.Next(); i++ {
				if u.rrl != nil && i%udpBatch == 0 {
					w.sec = u.rrl.second()
				}
				w.reset(remote, &buf)
				u.serve(q, w)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			run(loop{b})
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) { run(pb) })
		})
	}
}

// loop adapts b.Loop to the shape of testing.PB.
type loop struct{ b *testing.B }

func (l loop) Next() bool { return l.b.Loop() }

// BenchmarkRateLimitCheck measures what the limit adds to one response
// within it: the client's network from its address, and the count.
func BenchmarkRateLimitCheck(b *testing.B) {
	l := newLimiter(&Config{RateLimit: 1 << 30, RateLimitSlip: 2, Now: time.Now})
	w := &batchWriter{remote: remote}
	b.ReportAllocs()
	for b.Loop() {
		if !l.admit(w, nil, 42) {
			b.Fatal("limited")
		}
	}
}
