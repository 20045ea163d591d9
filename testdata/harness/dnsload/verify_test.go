package main

import (
	"testing"

	"github.com/miekg/dns"
)

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func TestCheckAnswer(t *testing.T) {
	ds := newDataset("service.local", 2, 2)
	srvQ := ds.questions(kindSRV)[1]
	aQ := ds.questions(kindA)[1]
	nxQ := ds.questions(kindNX)[0]
	// svc001 has 10.0.0.3:20003 and 10.0.0.4:20004.
	srv1 := "svc001.service.local. 30 IN SRV 1 1 20003 0a000003.addr.service.local."
	srv2 := "svc001.service.local. 30 IN SRV 1 1 20004 0a000004.addr.service.local."
	glue1 := "0a000003.addr.service.local. 30 IN A 10.0.0.3"
	glue2 := "0a000004.addr.service.local. 30 IN A 10.0.0.4"
	a1 := "svc001.service.local. 30 IN A 10.0.0.3"
	a2 := "svc001.service.local. 30 IN A 10.0.0.4"
	soa := "service.local. 5 IN SOA ns.service.local. hostmaster.service.local. 1 3600 600 86400 5"
	tests := []struct {
		name              string
		q                 question
		rcode             int
		noAA              bool
		answer, ns, extra []string
		ok                bool
	}{
		{"SRV", srvQ, dns.RcodeSuccess, false, []string{srv2, srv1}, nil, []string{glue2, glue1}, true},
		{"SRV wrong port", srvQ, dns.RcodeSuccess, false, []string{srv1, "svc001.service.local. 30 IN SRV 1 1 9 0a000004.addr.service.local."}, nil, []string{glue1, glue2}, false},
		{"SRV warning priority", srvQ, dns.RcodeSuccess, false, []string{srv1, "svc001.service.local. 30 IN SRV 2 1 20004 0a000004.addr.service.local."}, nil, []string{glue1, glue2}, false},
		{"SRV one missing", srvQ, dns.RcodeSuccess, false, []string{srv1}, nil, []string{glue1}, false},
		{"SRV no glue", srvQ, dns.RcodeSuccess, false, []string{srv1, srv2}, nil, nil, false},
		{"SRV wrong glue", srvQ, dns.RcodeSuccess, false, []string{srv1, srv2}, nil, []string{glue1, "0a000004.addr.service.local. 30 IN A 10.0.0.5"}, false},
		{"SRV not authoritative", srvQ, dns.RcodeSuccess, true, []string{srv1, srv2}, nil, []string{glue1, glue2}, false},
		{"A", aQ, dns.RcodeSuccess, false, []string{a2, a1}, nil, nil, true},
		{"A duplicated", aQ, dns.RcodeSuccess, false, []string{a1, a1}, nil, nil, false},
		{"A of another service", aQ, dns.RcodeSuccess, false, []string{a1, "svc001.service.local. 30 IN A 10.0.0.1"}, nil, nil, false},
		{"A SERVFAIL", aQ, dns.RcodeServerFailure, false, nil, nil, nil, false},
		{"NXDOMAIN", nxQ, dns.RcodeNameError, false, nil, []string{soa}, nil, true},
		{"NXDOMAIN without SOA", nxQ, dns.RcodeNameError, false, nil, nil, nil, false},
		{"NODATA instead of NXDOMAIN", nxQ, dns.RcodeSuccess, false, nil, []string{soa}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(tc.q.Name, tc.q.Type)
			m.Response, m.Authoritative, m.Rcode = true, !tc.noAA, tc.rcode
			for _, s := range tc.answer {
				m.Answer = append(m.Answer, mustRR(t, s))
			}
			for _, s := range tc.ns {
				m.Ns = append(m.Ns, mustRR(t, s))
			}
			for _, s := range tc.extra {
				m.Extra = append(m.Extra, mustRR(t, s))
			}
			err := checkAnswer(ds, tc.q, m)
			if (err == nil) != tc.ok {
				t.Errorf("checkAnswer = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
