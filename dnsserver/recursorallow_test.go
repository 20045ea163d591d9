package dnsserver

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// counting answers like h and counts the queries it gets.
func counting(n *atomic.Int64, h dns.HandlerFunc) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		n.Add(1)
		h(w, r)
	}
}

// TestRecursorAllow asks over real sockets from 127.0.0.1: with an allow
// list that leaves loopback out, names outside the zone get REFUSED and
// the recursor hears nothing, while the zone is answered as ever.
func TestRecursorAllow(t *testing.T) {
	for _, c := range []struct {
		name    string
		allow   []string
		forward bool
	}{
		{"default list", nil, true},
		{"loopback left out", []string{"10.0.0.0/8", "192.168.0.0/16", "::1"}, false},
		{"another loopback address", []string{"127.0.0.2"}, false},
		{"nobody", []string{}, false},
		{"the host itself", []string{"127.0.0.1"}, true},
		{"everyone", []string{"0.0.0.0/0", "::/0"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var asked atomic.Int64
			up := upstream(t, counting(&asked, answerA("192.0.2.1", false)))
			var fixtures []*fixture
			for _, m := range udpModes {
				fixtures = append(fixtures, newFixture(t, func(cfg *Config) {
					cfg.Recursors, cfg.RecursorAllow, cfg.UDPReaders = []string{up}, c.allow, m.readers
				}))
			}
			seed(t, fixtures[0])
			want := dns.RcodeRefused
			if c.forward {
				want = dns.RcodeSuccess
			}
			tries := 0
			for i, f := range fixtures {
				for _, network := range []string{"udp", "tcp"} {
					addr := f.srv.UDPAddr()
					if network == "tcp" {
						addr = f.srv.TCPAddr()
					}
					q := new(dns.Msg).SetQuestion("example.com.", dns.TypeA)
					r := exchange(t, network, addr, q)
					tries++
					if r.Rcode != want || r.Id != q.Id || len(r.Question) != 1 || r.Question[0].Name != "example.com." {
						t.Errorf("%s over %s (%s): rcode %s, ID %d, question %v; want %s", q.Question[0].Name, network,
							udpModes[i].name, dns.RcodeToString[r.Rcode], r.Id, r.Question, dns.RcodeToString[want])
					}
					if !c.forward && (len(r.Answer) != 0 || r.Authoritative || r.RecursionAvailable) {
						t.Errorf("REFUSED carries answer %v, AA %v, RA %v", r.Answer, r.Authoritative, r.RecursionAvailable)
					}
				}
			}
			switch got := asked.Load(); {
			case c.forward && got != int64(tries):
				t.Errorf("the recursor got %d queries, want %d", got, tries)
			case !c.forward && got != 0:
				t.Errorf("the recursor got %d queries from a client outside the allow list", got)
			}
			// The zone does not depend on the list.
			zc := Case{Qname: "web.service.local.", Qtype: dns.TypeAAAA, Answer: []string{"web.service.local. 30 IN AAAA 2001:db8::7"}}
			q := zc.Msg()
			zc.check(t, q, exchange(t, "udp", fixtures[0].srv.UDPAddr(), q))
		})
	}
}

// TestRecursorAllowPerClient: one server answers clients in and out of
// the list in turn; neither reply is kept for the other.
func TestRecursorAllowPerClient(t *testing.T) {
	up := upstream(t, answerA("192.0.2.1", false))
	f := newFixture(t, func(cfg *Config) { cfg.Recursors, cfg.RecursorAllow = []string{up}, []string{"127.0.0.1/32"} })
	outside := &net.UDPAddr{IP: net.ParseIP("192.0.2.9"), Port: 4000}
	for i, c := range []struct {
		from  net.Addr // nil asks over a real socket from 127.0.0.1
		rcode int
	}{
		{outside, dns.RcodeRefused},
		{nil, dns.RcodeSuccess},
		{outside, dns.RcodeRefused},
		{&net.UDPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 4000}, dns.RcodeSuccess},
		{nil, dns.RcodeSuccess},
	} {
		q := new(dns.Msg).SetQuestion("example.com.", dns.TypeA)
		var r *dns.Msg
		if c.from == nil {
			r = exchange(t, "udp", f.srv.UDPAddr(), q)
		} else {
			rec := &recorder{remote: c.from}
			f.srv.h.ServeDNS(rec, q)
			r = new(dns.Msg)
			if err := r.Unpack(rec.buf); err != nil {
				t.Fatal(err)
			}
		}
		if r.Rcode != c.rcode {
			t.Errorf("query %d from %v: rcode %s, want %s", i, c.from, dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
		}
	}
}
