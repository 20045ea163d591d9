package dnsserver

import (
	"net/netip"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// zone answers questions about one zone from store snapshots. It holds
// configuration and what it derives from snapshots, so answer is a pure
// function of its arguments.
type zone struct {
	origin string // lower-case FQDN
	nsName string // ns.<origin>
	mbox   string // hostmaster.<origin>, the SOA's contact
	nsAddr netip.Addr
	// policy decides which instances answers hold and their TTLs.
	policy     store.DNSPolicy
	posTTL     uint32 // -ttl, for records that do not follow health
	negTTL     uint32
	originWire []byte      // origin, packed
	tags       tagIndex    // derived from snapshots, not configuration
	large      *largeCache // likewise
}

func newZone(cfg *Config) *zone {
	var origin [256]byte
	n, _ := dns.PackDomainName(cfg.Domain, origin[:], 0, nil, false)
	return &zone{
		originWire: origin[:n:n],
		large:      newLargeCache(cfg.CacheSize >= 0),
		origin:     cfg.Domain,
		nsName:     "ns." + cfg.Domain,
		mbox:       "hostmaster." + cfg.Domain,
		nsAddr:     listenIP(cfg.Addr),
		policy:     cfg.Policy(),
		posTTL:     seconds(cfg.TTL),
		negTTL:     seconds(cfg.NegativeTTL),
	}
}

// meta tells the handler what it may do with a reply besides sending it.
type meta struct {
	// dep records what the reply was built from, so a cached copy can be
	// checked against a later snapshot.
	dep dependency
	// weights and shuffle describe how the answer may be reordered.
	weights []uint32
	shuffle bool
	// forward says the name is outside the zone: a recursor may answer
	// in place of the REFUSED reply.
	forward bool
	// large, when set, holds the answer records, which each reply
	// samples and packs itself; the reply built holds none.
	large *largeAnswer
	// cacheable says the reply depends only on dep, the question and
	// configuration.
	cacheable bool
}

// answer builds the reply to req from snap at now, for a client that
// takes replies of up to limit bytes, with an OPT record of optLen bytes.
// It touches no network and no clock; EDNS and truncation are left to
// finish. An answer with more records than the limit may take is left
// out of the reply and returned in meta.large instead.
func (z *zone) answer(req *dns.Msg, snap *store.Snapshot, now time.Time, limit, optLen int) (*dns.Msg, meta) {
	if err := checkRequest(req); err != nil {
		return refusal(req, rcodeOf(err)), meta{}
	}
	q := req.Question[0]
	l := &lookup{
		z: z, snap: snap, now: now,
		qname: q.Name, qtype: q.Qtype,
		q:    parseQuery(lowerASCII(q.Name), z.origin),
		room: limit - optLen - (&dns.Msg{Question: req.Question}).Len(),
	}
	r, err := l.run()
	if err != nil {
		r = records{}
	}
	rc := rcodeOf(err)
	if err != nil && (rc == dns.RcodeSuccess || rc == dns.RcodeNameError) {
		// Negative answers carry the SOA, whose serial follows every
		// change.
		l.m.dep.readIndex(snap)
	}
	m := z.reply(req, r, err, serialOf(snap))
	l.m.large = r.large
	if r.shuffle {
		shuffleRRs(m.Answer, r.weights)
		l.m.weights, l.m.shuffle = r.weights, true
	}
	l.m.cacheable = !l.m.forward && (rc == dns.RcodeSuccess || rc == dns.RcodeNameError)
	return m, l.m
}

// checkRequest refuses what is not a standard query of class IN.
func checkRequest(req *dns.Msg) error {
	switch {
	case req.Opcode != dns.OpcodeQuery:
		return errNotImp
	case len(req.Question) != 1:
		return errFormat
	case req.Question[0].Qclass != dns.ClassINET:
		return errRefused
	case req.Question[0].Qtype == dns.TypeAXFR || req.Question[0].Qtype == dns.TypeIXFR:
		return errRefused
	}
	return nil
}

// listenIP is the address ns.<zone> resolves to: the listen IP when it is
// one a client can reach, else 127.0.0.1.
func listenIP(addr string) netip.Addr {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().IsUnspecified() {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return ap.Addr().Unmap().WithZone("")
}

// lowerASCII lower-cases ASCII letters, without allocating when there are
// none. Names arrive in presentation format, where other bytes are
// escaped.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}
