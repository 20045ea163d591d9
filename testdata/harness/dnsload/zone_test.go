package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// zoneRecords parses the zone writeZone makes for ds.
func zoneRecords(t *testing.T, ds *dataset) []dns.RR {
	t.Helper()
	var b strings.Builder
	if err := writeZone(&b, ds); err != nil {
		t.Fatal(err)
	}
	zp := dns.NewZoneParser(strings.NewReader(b.String()), "", "zone")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return rrs
}

// answerFromZone builds the answer an authoritative server gives q from
// the zone's records, as NSD does: the RRset, SRV targets' A records as
// glue, or NXDOMAIN with the SOA.
func answerFromZone(rrs []dns.RR, q question) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(q.Name, q.Type)
	m.Response, m.Authoritative = true, true
	for _, rr := range rrs {
		if strings.EqualFold(rr.Header().Name, q.Name) && rr.Header().Rrtype == q.Type {
			m.Answer = append(m.Answer, rr)
		}
	}
	for _, rr := range m.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			for _, g := range rrs {
				if a, ok := g.(*dns.A); ok && strings.EqualFold(a.Hdr.Name, srv.Target) {
					m.Extra = append(m.Extra, a)
				}
			}
		}
	}
	if len(m.Answer) == 0 {
		m.Rcode = dns.RcodeNameError
		for _, rr := range rrs {
			if rr.Header().Rrtype == dns.TypeSOA {
				m.Ns = append(m.Ns, rr)
			}
		}
	}
	return m
}

// TestZoneAnswersAreCorrect checks that the zone NSD serves gives, for
// every question of the load, the answer the harness requires of beacon.
func TestZoneAnswersAreCorrect(t *testing.T) {
	ds := newDataset("service.local", 100, 3)
	rrs := zoneRecords(t, ds)
	if want := 2 + 100*3*3; len(rrs) != want {
		t.Errorf("%d records, want %d (SOA, NS, and per instance SRV, A and glue A)", len(rrs), want)
	}
	if soa, ok := rrs[0].(*dns.SOA); !ok || soa.Hdr.Name != ds.Domain || soa.Minttl != negativeTTL {
		t.Errorf("first record %v, want the SOA of %s with minimum %d", rrs[0], ds.Domain, negativeTTL)
	}
	for _, q := range ds.allQuestions() {
		if err := checkAnswer(ds, q, answerFromZone(rrs, q)); err != nil {
			t.Errorf("%s %s: %v", q.Name, dns.TypeToString[q.Type], err)
		}
	}
}

func TestNSDConfig(t *testing.T) {
	dir := t.TempDir()
	conf := nsdConfig(dir, "127.0.0.1", 5399, "service.local.", filepath.Join(dir, "zone"))
	for _, want := range []string{
		"ip-address: 127.0.0.1@5399",
		"rrl-ratelimit: 0",
		"server-count: 1",
		"control-enable: no",
		"minimal-responses: no",
		`name: "service.local"`,
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("nsd.conf lacks %q:\n%s", want, conf)
		}
	}
	check, err := exec.LookPath("nsd-checkconf")
	if err != nil {
		t.Skip("nsd-checkconf not installed; syntax not checked")
	}
	path := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(check, path).CombinedOutput(); err != nil {
		t.Errorf("nsd-checkconf: %v\n%s\n%s", err, out, conf)
	}
}
