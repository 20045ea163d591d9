package dnsserver

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// frontend is a resolver run in front of beacon the way README users do.
type frontend struct {
	name   string
	conf   string                     // template under testdata
	beacon string                     // how its config names beacon's address
	args   func(conf string) []string // foreground, this config only
}

var frontends = []frontend{
	{"unbound", "unbound.conf", "127.0.0.1@%s", func(conf string) []string { return []string{"-d", "-c", conf} }},
	{"dnsmasq", "dnsmasq.conf", "127.0.0.1#%s", func(conf string) []string { return []string{"-k", "-C", conf, "--pid-file"} }},
}

// TestForwarders puts unbound and dnsmasq, each where installed, in front
// of the server and checks what their clients get: every kind of answer,
// NXDOMAIN and NODATA with the SOA, PTR, and an answer too large for UDP
// that arrives truncated and then complete over TCP, which the forwarder
// can only have fetched from beacon over TCP.
func TestForwarders(t *testing.T) {
	for _, fe := range frontends {
		t.Run(fe.name, func(t *testing.T) {
			bin := testkit.Tool(t, fe.name)
			f := newFixture(t, nil)
			seed(t, f)
			seedBig(t, f, 60)
			dir := t.TempDir()
			port := freePort(t)
			conf := config(t, dir, fe.conf, map[string]any{
				"Dir": dir, "Port": port, "Beacon": fmt.Sprintf(fe.beacon, portOf(f.srv.UDPAddr())),
			})
			addr := "127.0.0.1:" + itoa(port)
			daemon(t, addr, bin, fe.args(conf)...)
			testThrough(t, addr, uint32(f.st.Snapshot().Index()))
		})
	}
}

// testThrough asks a resolver at addr about the seeded zone, whose SOA
// has that serial.
func testThrough(t *testing.T, addr string, serial uint32) {
	soa := []string{fmt.Sprintf("service.local. 5 IN SOA ns.service.local. hostmaster.service.local. %d 3600 600 86400 5", serial)}
	for _, c := range []Case{
		{Qname: "web.service.local.", Qtype: dns.TypeSRV, Answer: []string{
			"web.service.local. 30 IN SRV 1 1 8080 0a000005.addr.service.local.",
			"web.service.local. 30 IN SRV 1 3 8081 0a000006.addr.service.local.",
			"web.service.local. 30 IN SRV 1 1 8082 20010db8000000000000000000000007.addr.service.local.",
		}},
		{Qname: "_web._v1.service.local.", Qtype: dns.TypeSRV, Answer: []string{
			"_web._v1.service.local. 30 IN SRV 1 1 8080 0a000005.addr.service.local.",
			"_web._v1.service.local. 30 IN SRV 1 1 8082 20010db8000000000000000000000007.addr.service.local.",
		}},
		{Qname: "WeB.Service.LOCAL.", Qtype: dns.TypeA, Answer: []string{"web.service.local. 30 IN A 10.0.0.5", "web.service.local. 30 IN A 10.0.0.6"}},
		{Qname: "web.service.local.", Qtype: dns.TypeAAAA, Answer: []string{"web.service.local. 30 IN AAAA 2001:db8::7"}},
		{Qname: "v1.web.service.local.", Qtype: dns.TypeA, Answer: []string{"v1.web.service.local. 30 IN A 10.0.0.5"}},
		{Qname: "warn.service.local.", Qtype: dns.TypeSRV, Answer: []string{
			"warn.service.local. 5 IN SRV 1 1 80 0a000101.addr.service.local.",
			"warn.service.local. 5 IN SRV 2 2 81 0a000102.addr.service.local.",
		}},
		{Qname: "20010db8000000000000000000000007.addr.service.local.", Qtype: dns.TypeAAAA, Answer: []string{
			"20010db8000000000000000000000007.addr.service.local. 30 IN AAAA 2001:db8::7"}},
		{Qname: "host.service.local.", Qtype: dns.TypeSRV, Answer: []string{"host.service.local. 30 IN SRV 1 1 5432 db.example.com."}},
		{Qname: "nope.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: soa},
		{Qname: "down.service.local.", Qtype: dns.TypeA, Ns: soa},
		{Qname: "_v1.service.local.", Qtype: dns.TypeTXT, Ns: soa},
		{Qname: "5.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []string{
			"5.0.0.10.in-addr.arpa. 30 IN PTR api.service.local.", "5.0.0.10.in-addr.arpa. 30 IN PTR web.service.local."}},
		{Qname: "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", Qtype: dns.TypePTR, Answer: []string{
			"7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 30 IN PTR web.service.local."}},
	} {
		r := ask(t, "udp", addr, c.Msg())
		if r.Rcode != c.Rcode {
			t.Errorf("%s: rcode %s, want %s", c, dns.RcodeToString[r.Rcode], dns.RcodeToString[c.Rcode])
		}
		compareCached(t, c.String()+" answer", r.Answer, c.Answer, false)
		compareCached(t, c.String()+" authority", r.Ns, c.Ns, false)
	}

	// 60 SRV records need about 2.7 kB, 60 A records 1 kB.
	var srv, a []string
	for i := range 60 {
		ip := netip.MustParseAddr(fmt.Sprintf("10.1.%d.%d", i/250, i%250+1))
		srv = append(srv, fmt.Sprintf("big.service.local. 30 IN SRV 1 1 %d %s", 1000+i, hexTarget(ip, "service.local.")))
		a = append(a, "big.service.local. 30 IN A "+ip.String())
	}
	for _, c := range []struct {
		qtype uint16
		edns  bool
		want  []string
	}{{dns.TypeSRV, true, srv}, {dns.TypeA, false, a}} {
		q := new(dns.Msg).SetQuestion("big.service.local.", c.qtype)
		limit := 512
		if c.edns {
			q.SetEdns0(1232, false)
			limit = 1232
		}
		r, raw := exchangeRaw(t, "udp", udpAddr(addr), q)
		if !r.Truncated || len(raw) > limit || len(r.Answer) >= len(c.want) || (r.IsEdns0() != nil) != c.edns {
			t.Errorf("big %s over UDP: TC %v, %d bytes, %d answers, OPT %v; want TC, at most %d bytes, OPT as asked",
				dns.TypeToString[c.qtype], r.Truncated, len(raw), len(r.Answer), r.IsEdns0() != nil, limit)
		}
		compareCached(t, "big over UDP", r.Answer, c.want, true)
		r = ask(t, "tcp", addr, q)
		if r.Truncated || r.Rcode != dns.RcodeSuccess {
			t.Errorf("big %s over TCP: TC %v rcode %s", dns.TypeToString[c.qtype], r.Truncated, dns.RcodeToString[r.Rcode])
		}
		compareCached(t, "big "+dns.TypeToString[c.qtype]+" over TCP", r.Answer, c.want, false)
	}
}

func ask(t *testing.T, network, addr string, q *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s %v via %s: %v", network, q.Question, addr, err)
	}
	return r
}

// compareCached compares records as a resolver's cache hands them out:
// names without case, TTLs at most beacon's. With subset it only checks
// that each record got is one of want, whole and right, which is all a
// truncated answer promises.
func compareCached(t *testing.T, what string, got []dns.RR, want []string, subset bool) {
	t.Helper()
	ttls := map[string]uint32{}
	for _, s := range want {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("bad expected RR %q: %v", s, err)
		}
		ttl := rr.Header().Ttl
		rr.Header().Ttl = 0
		ttls[canonical(rr)] = ttl
	}
	var g []string
	for _, rr := range got {
		rr = dns.Copy(rr)
		ttl := rr.Header().Ttl
		rr.Header().Ttl = 0
		k := canonical(rr)
		if limit, ok := ttls[k]; !ok || ttl > limit {
			t.Errorf("%s: unexpected %s (TTL %d)", what, k, ttl)
		}
		g = append(g, k)
	}
	slices.Sort(g)
	if !subset && (len(g) != len(want) || len(slices.Compact(g)) != len(want)) {
		t.Errorf("%s: %d records, want %d:\n %s", what, len(got), len(want), strings.Join(g, "\n "))
	}
}
