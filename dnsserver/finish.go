package dnsserver

import (
	"github.com/miekg/dns"
)

// advertisedSize is the UDP payload size beacon states in its OPT records
// and the most it honours from a client (RFC 6891 section 6.2.5).
const advertisedSize = 4096

// edns is what a request's OPT record asks for.
type edns struct {
	present bool
	do      bool
	version uint8
	size    int // client's UDP payload size, clamped to 512..4096
	// multiple reports more than one OPT record, a FORMERR (RFC 6891
	// section 6.1.1).
	multiple bool
}

func parseEDNS(req *dns.Msg) edns {
	var e edns
	for _, rr := range req.Extra {
		opt, ok := rr.(*dns.OPT)
		if !ok {
			continue
		}
		if e.present {
			e.multiple = true
			continue
		}
		e.present, e.do, e.version = true, opt.Do(), opt.Version()
		e.size = min(max(int(opt.UDPSize()), dns.MinMsgSize), advertisedSize)
	}
	return e
}

// optLen is the length of the OPT record finish gives the reply: 11
// bytes (root owner, fixed fields, no options), or none.
func (e edns) optLen() int {
	if e.present {
		return 11
	}
	return 0
}

// limit is the largest reply the client takes: the OPT payload size, else
// 512 over UDP (RFC 1035), and 65535 over TCP.
func (e edns) limit(tcp bool) int {
	switch {
	case tcp:
		return dns.MaxMsgSize
	case e.present:
		return e.size
	}
	return dns.MinMsgSize
}

// finish makes m fit the client, in one place for every reply, whatever
// its rcode and wherever it came from: it gives it an OPT record exactly
// when the query had one (RFC 6891 section 6.1.1), with the DO bit as
// asked (RFC 3225), then truncates it to the client's limit.
func finish(m *dns.Msg, e edns, tcp bool) {
	if e.present {
		m.SetEdns0(advertisedSize, e.do)
	}
	truncate(m, e.limit(tcp))
	// Truncate turns compression off when the uncompressed reply fits;
	// compressed owners point at the question, which lets a cached copy
	// take a new question case with one patch.
	m.Compress = true
}

// truncate cuts m to size bytes, keeping whole records in order while
// they fit and the OPT record always. TC is set only when answer or
// authority records had to go (RFC 2181 section 9): additional records
// such as SRV glue are extra information, and a reply that merely lacks
// some of them is complete, so the client has no reason to retry over
// TCP. miekg/dns's Msg.Truncate does the cutting; it sets TC for any
// record dropped, which is corrected here.
func truncate(m *dns.Msg, size int) {
	tc, answers, authority := m.Truncated, len(m.Answer), len(m.Ns)
	m.Truncate(size)
	m.Truncated = tc || len(m.Answer) < answers || len(m.Ns) < authority
}

// dropOPT removes OPT records from a recursor's reply: its OPT speaks
// for the recursor, and finish gives the client beacon's.
func dropOPT(rrs []dns.RR) []dns.RR {
	out := rrs[:0]
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}
