package dnsserver

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	seed(t, f)
	for range 3 {
		exchange(t, "udp", f.srv.UDPAddr(), new(dns.Msg).SetQuestion("web.service.local.", dns.TypeSRV))
	}
	exchange(t, "tcp", f.srv.TCPAddr(), new(dns.Msg).SetQuestion("nope.service.local.", dns.TypeA))
	exchange(t, "udp", f.srv.UDPAddr(), new(dns.Msg).SetQuestion("example.com.", dns.TypeMX))
	for _, c := range []struct {
		typ, rcode string
		want       float64
	}{{"SRV", "NOERROR", 3}, {"A", "NXDOMAIN", 1}, {"other", "REFUSED", 1}, {"A", "NOERROR", 0}} {
		if got := waitCounter(f.srv.h.met.requests[typeIndexOf(c.typ)][rcodeIndexOf(c.rcode)], c.want); got != c.want {
			t.Errorf("beacon_dns_requests_total{type=%q,rcode=%q} = %v, want %v", c.typ, c.rcode, got, c.want)
		}
	}
	if hits, misses := testutil.ToFloat64(f.srv.h.met.hits), testutil.ToFloat64(f.srv.h.met.misses); hits != 2 || misses != 3 {
		t.Errorf("cache hits %v misses %v, want 2 and 3", hits, misses)
	}
	// Every metric DESIGN.md names is registered, and passes the linter.
	n, err := testutil.GatherAndCount(f.reg)
	if err != nil || n == 0 {
		t.Fatalf("gather: %d, %v", n, err)
	}
	for _, name := range []string{"beacon_dns_requests_total", "beacon_dns_request_duration_seconds", "beacon_dns_cache_hits_total", "beacon_dns_cache_misses_total", "beacon_dns_panics_total"} {
		if c, err := testutil.GatherAndCount(f.reg, name); err != nil || c == 0 {
			t.Errorf("%s not registered (%d, %v)", name, c, err)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, f)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func typeIndexOf(s string) uint8 {
	for i, l := range typeLabels {
		if strings.EqualFold(l, s) {
			return uint8(i)
		}
	}
	return typeOther
}

func rcodeIndexOf(s string) uint8 {
	for i, l := range rcodeLabels {
		if l == s {
			return uint8(i)
		}
	}
	return rcodeOther
}
