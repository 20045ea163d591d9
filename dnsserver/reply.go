package dnsserver

import (
	"errors"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// Outcomes of a lookup other than an answer. rcodeOf maps them to rcodes,
// in this one place.
var (
	// errNXDomain: the name does not exist in the zone (RFC 1035 NXDOMAIN).
	errNXDomain = errors.New("name does not exist")
	// errNoData: the name exists but holds no records of the type asked
	// (RFC 2308 NODATA).
	errNoData = errors.New("no records of that type")
	// errRefused: a question beacon will not answer: outside the zone with
	// no recursor, a class other than IN, or a zone transfer.
	errRefused = errors.New("refused")
	// errNotImp: an opcode other than QUERY.
	errNotImp = errors.New("not implemented")
	// errFormat: a request without exactly one question, or with more than
	// one OPT record (RFC 6891 section 6.1.1).
	errFormat = errors.New("malformed request")
	// errBadVersion: an OPT record of an EDNS version other than 0 (RFC
	// 6891 section 6.1.3).
	errBadVersion = errors.New("unsupported EDNS version")
	// errNoRecursor: every recursor failed or answered SERVFAIL, or too
	// many forwarded queries are in flight.
	errNoRecursor = errors.New("no recursor answered")
	// errBadKey: a request signed with a TSIG key beacon does not know,
	// which is any key, as beacon holds none (RFC 8945 section 5.2.1).
	errBadKey = errors.New("unknown TSIG key")
)

// rcodeOf maps a lookup outcome to its rcode.
func rcodeOf(err error) int {
	switch {
	case err == nil, errors.Is(err, errNoData):
		return dns.RcodeSuccess
	case errors.Is(err, errNXDomain):
		return dns.RcodeNameError
	case errors.Is(err, errRefused):
		return dns.RcodeRefused
	case errors.Is(err, errNotImp):
		return dns.RcodeNotImplemented
	case errors.Is(err, errFormat):
		return dns.RcodeFormatError
	case errors.Is(err, errBadVersion):
		return dns.RcodeBadVers
	case errors.Is(err, errBadKey):
		return dns.RcodeNotAuth
	}
	return dns.RcodeServerFailure
}

// records are what a lookup found.
type records struct {
	answer []dns.RR
	extra  []dns.RR
	// weights, when set, give each answer record its weight for a
	// weighted shuffle; otherwise a shuffle is uniform.
	weights []uint32
	// shuffle says the answer's order may change with every response.
	shuffle bool
	// large, when set, stands for answer and extra: too many records
	// for the client's limit.
	large *largeAnswer
}

// reply builds the response to req for a lookup's outcome.
func (z *zone) reply(req *dns.Msg, r records, err error, serial uint32) *dns.Msg {
	switch rc := rcodeOf(err); {
	case err == nil:
		return z.success(req, r)
	case errors.Is(err, errNoData):
		return z.nodata(req, serial)
	case errors.Is(err, errNXDomain):
		return z.nxdomain(req, serial)
	default:
		return refusal(req, rc)
	}
}

// base starts a reply: the question echoed exactly as asked, ID, RD and CD
// copied (SetReply); RA clear, as beacon does no recursion of its own.
func base(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = false
	m.Compress = true
	return m
}

// success is an authoritative answer.
func (z *zone) success(req *dns.Msg, r records) *dns.Msg {
	m := base(req)
	m.Authoritative = true
	m.Answer, m.Extra = r.answer, r.extra
	return m
}

// nodata is NOERROR with an empty answer and the SOA in authority, whose
// minimum and TTL tell resolvers how long to cache that (RFC 2308).
func (z *zone) nodata(req *dns.Msg, serial uint32) *dns.Msg {
	m := base(req)
	m.Authoritative = true
	m.Ns = []dns.RR{z.soa(serial)}
	return m
}

// nxdomain is NXDOMAIN with the SOA in authority (RFC 2308).
func (z *zone) nxdomain(req *dns.Msg, serial uint32) *dns.Msg {
	m := z.nodata(req, serial)
	m.Rcode = dns.RcodeNameError
	return m
}

// refusal answers with rcode and nothing else: REFUSED, NOTIMP, FORMERR,
// BADVERS or SERVFAIL.
func refusal(req *dns.Msg, rcode int) *dns.Msg {
	m := base(req)
	m.Rcode = rcode
	return m
}

// servfail is SERVFAIL for a request the server failed to answer (a
// panic, a reply that would not pack), finished like every other reply.
func servfail(req *dns.Msg, tcp bool) *dns.Msg {
	m := refusal(req, dns.RcodeServerFailure)
	finish(m, parseEDNS(req), tcp)
	return m
}

// serialOf is the zone's SOA serial in snap: the store's change index,
// which grows with every registration, deregistration and health change
// and never goes back, also across restarts. So the serial grows whenever
// the zone's data may have changed (RFC 1035 section 3.3.13); it wraps in
// serial number arithmetic (RFC 1982).
func serialOf(snap *store.Snapshot) uint32 { return uint32(snap.Index()) }

// soa is the zone's SOA with the given serial; refresh, retry and expire
// are Consul's; TTL and minimum are the negative TTL.
func (z *zone) soa(serial uint32) dns.RR {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: z.origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: z.negTTL},
		Ns:      z.nsName,
		Mbox:    z.mbox,
		Serial:  serial,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  z.negTTL,
	}
}
