package dnsserver

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// seed registers the instances the zone tests query.
func seed(t testing.TB, f *fixture) {
	t.Helper()
	for _, r := range []store.Registration{
		{ID: "web1", Name: "web", Address: "10.0.0.5", Port: 8080, Tags: []string{"v1", "Primary"}},
		{ID: "web2", Name: "web", Address: "10.0.0.6", Port: 8081, Tags: []string{"v2"}, Weights: &store.Weights{Passing: 3, Warning: 1}},
		// U+212A KELVIN SIGN folds to k in Unicode but not in DNS.
		{ID: "web3", Name: "web", Address: "2001:db8::7", Port: 8082, Tags: []string{"v1", "\u212a"}},
		{ID: "api1", Name: "api", Address: "10.0.0.5", Port: 9000},
		{ID: "warn1", Name: "warn", Address: "10.0.1.1", Port: 80},
		{ID: "warn2", Name: "warn", Address: "10.0.1.2", Port: 81, Weights: &store.Weights{Passing: 5, Warning: 2},
			Checks: []store.CheckSpec{{TTL: time.Hour, Status: store.Warning}}},
		{ID: "down1", Name: "down", Address: "10.0.2.1", Port: 80, Checks: []store.CheckSpec{{TTL: time.Hour}}},
		{ID: "host1", Name: "host", Address: "db.example.com", Port: 5432},
	} {
		f.register(t, r)
	}
}

func zoneCases(serial uint32) []Case {
	soa := fmt.Sprintf("service.local. 5 IN SOA ns.service.local. hostmaster.service.local. %d 3600 600 86400 5", serial)
	neg := []string{soa}
	webGlue := []string{
		"0a000005.addr.service.local. 30 IN A 10.0.0.5",
		"0a000006.addr.service.local. 30 IN A 10.0.0.6",
		"20010db8000000000000000000000007.addr.service.local. 30 IN AAAA 2001:db8::7",
	}
	return []Case{
		// <name> A/AAAA/SRV
		{Qname: "web.service.local.", Qtype: dns.TypeA, Answer: []string{
			"web.service.local. 30 IN A 10.0.0.5", "web.service.local. 30 IN A 10.0.0.6"}},
		{Qname: "web.service.local.", Qtype: dns.TypeAAAA, Answer: []string{
			"web.service.local. 30 IN AAAA 2001:db8::7"}},
		{Qname: "web.service.local.", Qtype: dns.TypeSRV, Answer: []string{
			"web.service.local. 30 IN SRV 1 1 8080 0a000005.addr.service.local.",
			"web.service.local. 30 IN SRV 1 3 8081 0a000006.addr.service.local.",
			"web.service.local. 30 IN SRV 1 1 8082 20010db8000000000000000000000007.addr.service.local.",
		}, Extra: webGlue},
		// Mixed case (0x20): echoed as asked, matched without case.
		{Qname: "WeB.SeRvIcE.LoCaL.", Qtype: dns.TypeA, Answer: []string{
			"web.service.local. 30 IN A 10.0.0.5", "web.service.local. 30 IN A 10.0.0.6"}},
		{Qname: "wEB.service.LOCAL.", Qtype: dns.TypeSRV, Answer: []string{
			"web.service.local. 30 IN SRV 1 1 8080 0a000005.addr.service.local.",
			"web.service.local. 30 IN SRV 1 3 8081 0a000006.addr.service.local.",
			"web.service.local. 30 IN SRV 1 1 8082 20010db8000000000000000000000007.addr.service.local.",
		}, Extra: webGlue},
		// <tag>.<name>, tags without case.
		{Qname: "v1.web.service.local.", Qtype: dns.TypeSRV, Answer: []string{
			"v1.web.service.local. 30 IN SRV 1 1 8080 0a000005.addr.service.local.",
			"v1.web.service.local. 30 IN SRV 1 1 8082 20010db8000000000000000000000007.addr.service.local.",
		}, Extra: []string{webGlue[0], webGlue[2]}},
		{Qname: "primary.web.service.local.", Qtype: dns.TypeA, Answer: []string{"primary.web.service.local. 30 IN A 10.0.0.5"}},
		{Qname: "v2.web.service.local.", Qtype: dns.TypeAAAA, Ns: neg},
		{Qname: "v9.web.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: neg},
		// Tags match as DNS names do (RFC 4343: ASCII letters only).
		{Qname: "k.web.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: neg},
		// RFC 2782 _<name>._<tag>; _tcp and _udp filter nothing.
		{Qname: "_web._v1.service.local.", Qtype: dns.TypeSRV, Answer: []string{
			"_web._v1.service.local. 30 IN SRV 1 1 8080 0a000005.addr.service.local.",
			"_web._v1.service.local. 30 IN SRV 1 1 8082 20010db8000000000000000000000007.addr.service.local.",
		}, Extra: []string{webGlue[0], webGlue[2]}},
		{Qname: "_web._tcp.service.local.", Qtype: dns.TypeSRV, Answer: []string{
			"_web._tcp.service.local. 30 IN SRV 1 1 8080 0a000005.addr.service.local.",
			"_web._tcp.service.local. 30 IN SRV 1 3 8081 0a000006.addr.service.local.",
			"_web._tcp.service.local. 30 IN SRV 1 1 8082 20010db8000000000000000000000007.addr.service.local.",
		}, Extra: webGlue},
		{Qname: "_api._udp.service.local.", Qtype: dns.TypeSRV, Answer: []string{
			"_api._udp.service.local. 30 IN SRV 1 1 9000 0a000005.addr.service.local."}, Extra: []string{webGlue[0]}},
		{Qname: "_nope._tcp.service.local.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: neg},
		// _<tag> holds _<name>._<tag> below it, so it exists while some
		// service has the tag: an empty non-terminal (RFC 8020), which
		// resolvers minimising query names (RFC 9156) ask for first.
		{Qname: "_v1.service.local.", Qtype: dns.TypeA, Ns: neg},
		{Qname: "_PRIMARY.service.local.", Qtype: dns.TypeSRV, Ns: neg},
		{Qname: "_v1.service.local.", Qtype: dns.TypeANY, Answer: []string{`_v1.service.local. 30 IN HINFO "RFC8482" ""`}},
		{Qname: "_v9.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: neg},
		{Qname: "_web.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: neg},
		// <hex>.addr
		{Qname: "0a000005.addr.service.local.", Qtype: dns.TypeA, Answer: []string{"0a000005.addr.service.local. 30 IN A 10.0.0.5"}},
		{Qname: "20010DB8000000000000000000000007.addr.service.local.", Qtype: dns.TypeAAAA, Answer: []string{
			"20010db8000000000000000000000007.addr.service.local. 30 IN AAAA 2001:db8::7"}},
		{Qname: "0a000005.addr.service.local.", Qtype: dns.TypeAAAA, Ns: neg},
		{Qname: "0a0000zz.addr.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: neg},
		{Qname: "addr.service.local.", Qtype: dns.TypeA, Ns: neg},
		{Qname: "_tcp.service.local.", Qtype: dns.TypeSRV, Ns: neg},
		// Apex SOA and NS, and the NS target.
		{Qname: "service.local.", Qtype: dns.TypeSOA, Answer: neg},
		{Qname: "Service.Local.", Qtype: dns.TypeNS, Answer: []string{"service.local. 30 IN NS ns.service.local."},
			Extra: []string{"ns.service.local. 30 IN A 127.0.0.1"}},
		{Qname: "service.local.", Qtype: dns.TypeA, Ns: neg},
		{Qname: "ns.service.local.", Qtype: dns.TypeA, Answer: []string{"ns.service.local. 30 IN A 127.0.0.1"}},
		{Qname: "ns.service.local.", Qtype: dns.TypeAAAA, Ns: neg},
		// PTR: one per service at the address.
		{Qname: "5.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []string{
			"5.0.0.10.in-addr.arpa. 30 IN PTR api.service.local.", "5.0.0.10.in-addr.arpa. 30 IN PTR web.service.local."}},
		{Qname: "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6.arpa.", Qtype: dns.TypePTR, Answer: []string{
			"7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 30 IN PTR web.service.local."}},
		{Qname: "9.9.9.10.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeRefused, NotAuth: true},
		// Warning instances: priority 2, warning weight, warning TTL for
		// the whole RRset.
		{Qname: "warn.service.local.", Qtype: dns.TypeSRV, Answer: []string{
			"warn.service.local. 5 IN SRV 1 1 80 0a000101.addr.service.local.",
			"warn.service.local. 5 IN SRV 2 2 81 0a000102.addr.service.local.",
		}, Extra: []string{"0a000101.addr.service.local. 5 IN A 10.0.1.1", "0a000102.addr.service.local. 5 IN A 10.0.1.2"}},
		{Qname: "warn.service.local.", Qtype: dns.TypeA, Answer: []string{
			"warn.service.local. 5 IN A 10.0.1.1", "warn.service.local. 5 IN A 10.0.1.2"}},
		// Known name, nothing healthy or no such type: NODATA.
		{Qname: "down.service.local.", Qtype: dns.TypeA, Ns: neg},
		{Qname: "down.service.local.", Qtype: dns.TypeSRV, Ns: neg},
		{Qname: "web.service.local.", Qtype: dns.TypeTXT, Ns: neg},
		{Qname: "web.service.local.", Qtype: dns.TypeMX, Ns: neg},
		// Host-name instances: SRV to the host, no glue, no A.
		{Qname: "host.service.local.", Qtype: dns.TypeSRV, Answer: []string{"host.service.local. 30 IN SRV 1 1 5432 db.example.com."}},
		{Qname: "host.service.local.", Qtype: dns.TypeA, Ns: neg},
		// Unknown names in the zone: NXDOMAIN.
		{Qname: "nope.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: neg},
		{Qname: "a.b.web.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: neg},
		// ANY: RFC 8482.
		{Qname: "web.service.local.", Qtype: dns.TypeANY, Answer: []string{`web.service.local. 30 IN HINFO "RFC8482" ""`}},
		{Qname: "nope.service.local.", Qtype: dns.TypeANY, Rcode: dns.RcodeNameError, Ns: neg},
		// Outside the zone, no recursors: REFUSED.
		{Qname: "example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused, NotAuth: true},
		{Qname: "local.", Qtype: dns.TypeSOA, Rcode: dns.RcodeRefused, NotAuth: true},
		// Other classes, opcodes and zone transfers.
		{Qname: "web.service.local.", Qtype: dns.TypeA, Qclass: dns.ClassCHAOS, Rcode: dns.RcodeRefused, NotAuth: true},
		{Qname: "web.service.local.", Qtype: dns.TypeA, Opcode: dns.OpcodeNotify, Rcode: dns.RcodeNotImplemented, NotAuth: true},
		{Qname: "service.local.", Qtype: dns.TypeAXFR, Rcode: dns.RcodeRefused, NotAuth: true},
	}
}

// TestZone runs every case against the handler and over real UDP and
// TCP, each twice so the second comes from the cache.
func TestZone(t *testing.T) {
	for _, mode := range udpModes {
		t.Run(mode.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.UDPReaders = mode.readers })
			if got := f.srv.batch != nil; got != (mode.readers >= 0) {
				t.Fatalf("batched UDP: %v", got)
			}
			seed(t, f)
			serial := uint32(f.st.Snapshot().Index())
			for _, tr := range transports {
				t.Run(tr.name, func(t *testing.T) {
					for _, c := range zoneCases(serial) {
						t.Run(c.String(), func(t *testing.T) {
							for range 2 {
								q := c.Msg()
								c.check(t, q, tr.do(t, f, q))
							}
						})
					}
				})
			}
		})
	}
}

// TestAnswerCore runs the same cases through the pure core, with no
// handler and no socket.
func TestAnswerCore(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	snap := f.st.Snapshot()
	z := f.srv.h.z
	for _, c := range zoneCases(uint32(snap.Index())) {
		t.Run(c.String(), func(t *testing.T) {
			q := c.Msg()
			m, _ := z.answer(q, snap, f.clk.Now(), dns.MaxMsgSize, 0)
			finish(m, edns{}, true)
			c.check(t, q, m)
		})
	}
}

func TestOnlyPassing(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.OnlyPassing = true })
	seed(t, f)
	for _, tr := range transports {
		c := Case{Qname: "warn.service.local.", Qtype: dns.TypeSRV,
			Answer: []string{"warn.service.local. 30 IN SRV 1 1 80 0a000101.addr.service.local."},
			Extra:  []string{"0a000101.addr.service.local. 30 IN A 10.0.1.1"}}
		q := c.Msg()
		c.check(t, q, tr.do(t, f, q))
	}
}

// TestOtherDomain serves a zone given in upper case with a trailing dot
// on a listen address that names the NS glue.
func TestOtherDomain(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Domain = "Beacon.Example." })
	seed(t, f)
	for _, tr := range transports {
		for _, c := range []Case{
			{Qname: "web.beacon.example.", Qtype: dns.TypeAAAA, Answer: []string{"web.beacon.example. 30 IN AAAA 2001:db8::7"}},
			{Qname: "beacon.example.", Qtype: dns.TypeNS, Answer: []string{"beacon.example. 30 IN NS ns.beacon.example."},
				Extra: []string{"ns.beacon.example. 30 IN A 127.0.0.1"}},
			{Qname: "web.service.local.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused, NotAuth: true},
		} {
			q := c.Msg()
			c.check(t, q, tr.do(t, f, q))
		}
	}
}

func TestParseQuery(t *testing.T) {
	const origin = "service.local."
	for name, want := range map[string]query{
		"service.local.":               {kind: kindApex},
		"web.service.local.":           {kind: kindService, service: "web"},
		`we\066.service.local.`:        {kind: kindService, service: "web"},
		"v1.web.service.local.":        {kind: kindService, service: "web", tag: "v1"},
		`a\.b.web.service.local.`:      {kind: kindService, service: "web", tag: "a.b"},
		"_web._v1.service.local.":      {kind: kindService, service: "web", tag: "v1"},
		"_web._tcp.service.local.":     {kind: kindService, service: "web"},
		"_web._udp.service.local.":     {kind: kindService, service: "web"},
		"_v1.service.local.":           {kind: kindTagParent, tag: "v1"},
		`_V\049.service.local.`:        {kind: kindTagParent, tag: "v1"},
		"_tcp.service.local.":          {kind: kindEmpty, service: "_tcp"},
		"ns.service.local.":            {kind: kindNS, service: "ns"},
		"addr.service.local.":          {kind: kindEmpty, service: "addr"},
		"x.y.z.service.local.":         {kind: kindUnknown},
		"0a000005.addr.service.local.": {kind: kindAddr, addr: netip.MustParseAddr("10.0.0.5")},
		"0a00005.addr.service.local.":  {kind: kindService, service: "addr", tag: "0a00005"},
		"example.com.":                 {kind: kindOutside},
		"xservice.local.":              {kind: kindOutside},
		"5.0.0.10.in-addr.arpa.":       {kind: kindReverse, addr: netip.MustParseAddr("10.0.0.5")},
		"05.0.0.10.in-addr.arpa.":      {kind: kindOutside},
		"0.10.in-addr.arpa.":           {kind: kindOutside},
		"256.0.0.10.in-addr.arpa.":     {kind: kindOutside},
		"1.0.0.0.ip6.arpa.":            {kind: kindOutside},
		"x.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.": {kind: kindOutside},
	} {
		if got := parseQuery(name, origin); got != want {
			t.Errorf("parseQuery(%q) = %+v, want %+v", name, got, want)
		}
	}
}

// TestSOASerial checks that the SOA serial grows with every change to the
// zone's data (RFC 1035 section 3.3.13), not only to its names, in
// answers to SOA and in negative answers alike, and never goes back
// across a restart.
func TestSOASerial(t *testing.T) {
	dir := t.TempDir()
	var last uint32
	for run := range 2 {
		st, err := store.Open(store.Options{Dir: dir, NodeName: "node1", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := New(Config{Addr: "127.0.0.1:0", Logger: quiet}, st)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		serials := func() (soa, neg uint32) {
			t.Helper()
			r := exchange(t, "udp", srv.UDPAddr(), new(dns.Msg).SetQuestion("service.local.", dns.TypeSOA))
			n := exchange(t, "udp", srv.UDPAddr(), new(dns.Msg).SetQuestion("nope.service.local.", dns.TypeA))
			if len(r.Answer) != 1 || len(n.Ns) != 1 {
				t.Fatalf("SOA answer %v, NXDOMAIN authority %v", r.Answer, n.Ns)
			}
			return r.Answer[0].(*dns.SOA).Serial, n.Ns[0].(*dns.SOA).Serial
		}
		check := func(what string) {
			t.Helper()
			soa, neg := serials()
			if soa != neg || soa <= last {
				t.Errorf("run %d, %s: SOA serial %d, in NXDOMAIN %d; want equal and above %d", run, what, soa, neg, last)
			}
			last = soa
		}
		steps := []struct {
			what string
			do   func() error
		}{
			{"a new service", func() error {
				_, err := st.Register(store.Registration{ID: fmt.Sprint("a", run), Name: fmt.Sprint("web", run), Address: "10.0.0.5", Port: 1, Tags: []string{"v1"}})
				return err
			}},
			{"another instance, same tags", func() error {
				_, err := st.Register(store.Registration{ID: fmt.Sprint("b", run), Name: fmt.Sprint("web", run), Address: "10.0.0.6", Port: 1, Tags: []string{"v1"}})
				return err
			}},
			{"a health change", func() error { return st.SetMaintenance(fmt.Sprint("b", run), true, "") }},
			{"a deregistration", func() error { return st.Deregister(fmt.Sprint("b", run)) }},
		}
		if run == 0 {
			serials() // fill the cache
		} else {
			check("a restart")
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatal(err)
			}
			check(s.what)
		}
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
}
