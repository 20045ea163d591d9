package dnsserver

import (
	"github.com/miekg/dns"
)

// beacon holds no TSIG keys, so every signed request is signed with a key
// it does not know. Answering it as if unsigned would let the client
// believe an answer was authenticated when it was not; RFC 8945 section
// 5.2.1 asks for NOTAUTH with the TSIG error BADKEY instead.

// signature returns a request's TSIG record, or errFormat when TSIG
// records appear anywhere but once, last in the additional section (RFC
// 8945 section 5.2), or when its data is missing (an empty RDATA
// unpacks, with no algorithm name). A request without one returns nil,
// nil.
func signature(req *dns.Msg) (*dns.TSIG, error) {
	var sig *dns.TSIG
	n := 0
	for _, s := range [][]dns.RR{req.Answer, req.Ns, req.Extra} {
		for _, rr := range s {
			if t, ok := rr.(*dns.TSIG); ok {
				sig = t
				n++
			}
		}
	}
	switch {
	case n == 0:
		return nil, nil
	case n > 1 || len(req.Extra) == 0 || req.Extra[len(req.Extra)-1] != dns.RR(sig):
		return nil, errFormat
	}
	if _, ok := dns.IsDomainName(sig.Algorithm); !ok || !dns.IsFqdn(sig.Algorithm) {
		return nil, errFormat
	}
	return sig, nil
}

// badKey is the TSIG record of the reply to a request signed with sig:
// error BADKEY and, since beacon cannot sign with a key it lacks, no MAC
// (RFC 8945 section 5.3.2). Key name, algorithm, time and fudge are the
// request's, so the client can match the reply to its key.
func badKey(sig *dns.TSIG) *dns.TSIG {
	return &dns.TSIG{
		Hdr:        dns.RR_Header{Name: sig.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm:  sig.Algorithm,
		TimeSigned: sig.TimeSigned,
		Fudge:      sig.Fudge,
		OrigId:     sig.OrigId,
		Error:      dns.RcodeBadKey,
	}
}
