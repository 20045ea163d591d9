package dnsserver

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// largeAnswer is an A, AAAA or SRV answer with more records than a
// client's limit may take. Building and packing every record for each
// reply, to keep the few that fit, made a service of 50,000 instances
// cost about 100 ms of CPU per query; a largeAnswer is built once per
// change of the service, and each reply draws its own weighted sample
// (sampler) and packs only the records that go out, so it costs about
// what a cached reply of that size costs, and different clients still
// see different instances in the shuffled order they always did.
type largeAnswer struct {
	svc   *store.Service // the service it was read from
	until time.Time      // zero, or when its TTL would change
	qtype uint16
	ttl   uint32
	n     int
	// data holds the records' RDATA back to back; an SRV record's is
	// followed by the address of its glue record, glen[i] bytes (0 when
	// its target is a host name). A and AAAA records have addrLen
	// bytes each and no off.
	data    []byte
	off     []uint32 // SRV: record i is data[off[i]:off[i+1]]
	glen    []uint8
	addrLen int
	// gfirst is, for each SRV record, the first record with the same
	// glue, so a reply holds each glue record once; nil when no two
	// records share a target.
	gfirst []int32
	// size is the packed length of all answer records together.
	size int
	pick *sampler
	// hdr starts each answer record: owner, type, class and TTL.
	hdr [10]byte
}

// largeKey names what a large answer holds: a service, a tag (lower
// case; "" for any) and a type. Question names that differ only in case
// or form (web, _web._tcp) share one.
type largeKey struct {
	service, tag string
	qtype        uint16
}

// largeCache keeps large answers for every size class and EDNS variant
// of a question, so each is built once per change. Misses alone consult
// it (a hit holds its answer in the packed-answer cache entry), so its
// one lock is not on the path of every query. A nil *largeCache keeps
// nothing.
type largeCache struct {
	c *lru.Cache[largeKey, *largeAnswer]
}

// largeCacheSize bounds the large answers kept: there are few services
// that large, and each answer holds tens of bytes per instance.
const largeCacheSize = 64

func newLargeCache(enabled bool) *largeCache {
	if !enabled {
		return nil
	}
	c, _ := lru.New[largeKey, *largeAnswer](largeCacheSize)
	return &largeCache{c: c}
}

// get returns the answer for k read from svc, if it still holds at now.
func (lc *largeCache) get(k largeKey, svc *store.Service, now time.Time) *largeAnswer {
	if lc == nil {
		return nil
	}
	la, ok := lc.c.Get(k)
	if !ok || la.svc != svc || (!la.until.IsZero() && !now.Before(la.until)) {
		return nil
	}
	return la
}

func (lc *largeCache) add(k largeKey, la *largeAnswer) {
	if lc != nil {
		lc.c.Add(k, la)
	}
}

// minRecord is the smallest packed answer record of each type: an owner
// that points at the question, the fixed fields, and the smallest RDATA
// (an SRV target of one label).
func minRecord(qtype uint16) int {
	switch qtype {
	case dns.TypeA:
		return 2 + 10 + 4
	case dns.TypeAAAA:
		return 2 + 10 + 16
	}
	return 2 + 10 + 6 + 3
}

// answerLarge answers from the large answer for svc, building it unless
// a current one is kept.
func (l *lookup) answerLarge(svc *store.Service) (records, error) {
	k := largeKey{service: l.q.service, tag: lowerASCII(l.q.tag), qtype: l.qtype}
	la := l.z.large.get(k, svc, l.now)
	if la == nil {
		la = l.buildLarge(svc)
		l.z.large.add(k, la)
	}
	if !la.until.IsZero() {
		l.m.dep.until(la.until)
	}
	if la.n == 0 {
		return records{}, errNoData
	}
	return records{large: la}, nil
}

// buildLarge reads the answer's records from svc as answerA and
// answerSRV do, in a compact form from which replies are packed.
func (l *lookup) buildLarge(svc *store.Service) *largeAnswer {
	la := &largeAnswer{svc: svc, qtype: l.qtype}
	var ttl rrsetTTL
	var weights []uint32
	panicking := l.z.policy.InPanic(svc)
	switch l.qtype {
	case dns.TypeA, dns.TypeAAAA:
		la.addrLen = 4
		if l.qtype == dns.TypeAAAA {
			la.addrLen = 16
		}
		n := len(svc.Instances)
		seen := make(map[netip.Addr]int, n)
		la.data = make([]byte, 0, n*la.addrLen)
		weights = make([]uint32, 0, n)
		for _, in := range svc.Instances {
			a := in.Addr.Unmap().WithZone("")
			if !l.z.policy.Includes(in, l.q.tag, panicking) || !a.IsValid() || a.Is4() != (l.qtype == dns.TypeA) {
				continue
			}
			ttl.add(l.z.policy.InstanceTTL(in, l.now, panicking))
			w := uint32(weightOf(in))
			if i, ok := seen[a]; ok {
				weights[i] += w
				continue
			}
			seen[a] = la.n
			la.data = appendAddr(la.data, a)
			weights = append(weights, w)
			la.n++
		}
		la.size = la.n * (12 + la.addrLen)
	case dns.TypeSRV:
		n := len(svc.Instances)
		glued := make(map[netip.Addr]int32, n)
		la.data = make([]byte, 0, n*(6+len(l.z.originWire)+15))
		la.off = make([]uint32, 0, n+1)
		la.glen = make([]uint8, 0, n)
		la.gfirst = make([]int32, 0, n)
		shared := false
		var name [256]byte
		for _, in := range svc.Instances {
			if !l.z.policy.Includes(in, l.q.tag, panicking) {
				continue
			}
			ttl.add(l.z.policy.InstanceTTL(in, l.now, panicking))
			prio := priorityOf(in)
			la.off = append(la.off, uint32(len(la.data)))
			la.data = binary.BigEndian.AppendUint16(la.data, prio)
			la.data = binary.BigEndian.AppendUint16(la.data, uint16(min(weightOf(in), 65535)))
			la.data = binary.BigEndian.AppendUint16(la.data, uint16(in.Port))
			first := int32(la.n)
			if a := in.Addr.Unmap().WithZone(""); a.IsValid() {
				la.data = appendHexTarget(la.data, a, l.z.originWire)
				if f, ok := glued[a]; ok {
					first, shared = f, true
				} else {
					glued[a] = first
				}
				la.data = appendAddr(la.data, a)
				la.glen = append(la.glen, uint8(a.BitLen()/8))
			} else {
				end, err := dns.PackDomainName(strings.ToLower(dns.Fqdn(in.Address)), name[:], 0, nil, false)
				if err != nil {
					end = 0
				}
				la.data = append(la.data, name[:end]...)
				la.glen = append(la.glen, 0)
			}
			la.gfirst = append(la.gfirst, first)
			la.n++
		}
		la.off = append(la.off, uint32(len(la.data)))
		for i := range la.n {
			la.size += 12 + la.rdlen(i)
		}
		if !shared {
			la.gfirst = nil
		}
	}
	if la.n == 0 {
		return la
	}
	s := seconds(ttl.ttl)
	la.ttl = s
	la.hdr = [10]byte{0xc0, 12, byte(la.qtype >> 8), byte(la.qtype), 0, dns.ClassINET, byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}
	if !ttl.deadline.IsZero() {
		la.until = ttl.deadline.Add(-time.Duration(s) * time.Second)
	}
	la.pick = newSampler(la.n, weights)
	return la
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		b4 := a.As4()
		return append(b, b4[:]...)
	}
	b16 := a.As16()
	return append(b, b16[:]...)
}

// appendHexTarget appends the packed name hexTarget gives for a.
func appendHexTarget(b []byte, a netip.Addr, originWire []byte) []byte {
	const digits = "0123456789abcdef"
	var raw []byte
	var buf [16]byte
	if a.Is4() {
		b4 := a.As4()
		raw = append(buf[:0], b4[:]...)
	} else {
		buf = a.As16()
		raw = buf[:]
	}
	b = append(b, byte(2*len(raw)))
	for _, c := range raw {
		b = append(b, digits[c>>4], digits[c&0xf])
	}
	b = append(b, 4, 'a', 'd', 'd', 'r')
	return append(b, originWire...)
}

// rdata returns record i's RDATA.
func (la *largeAnswer) rdata(i int) []byte {
	if la.off == nil {
		return la.data[i*la.addrLen : (i+1)*la.addrLen]
	}
	return la.data[la.off[i] : la.off[i+1]-uint32(la.glen[i])]
}

func (la *largeAnswer) rdlen(i int) int {
	if la.off == nil {
		return la.addrLen
	}
	return int(la.off[i+1]-la.off[i]) - int(la.glen[i])
}

// glue returns the address of record i's glue, or nil.
func (la *largeAnswer) glue(i int) []byte {
	if la.off == nil || la.glen[i] == 0 {
		return nil
	}
	return la.data[la.off[i+1]-uint32(la.glen[i]) : la.off[i+1]]
}

// write appends to b, which holds a reply's header and question, the
// answer records that fit in limit bytes with opt (the OPT record, or
// nothing) after them: all of them in shuffled order when they fit, with
// as much glue as fits after; else a weighted sample as long as fits,
// with TC set (RFC 2181 section 9). It sets the header's counts.
func (la *largeAnswer) write(b, opt []byte, limit int) []byte {
	budget := limit - len(opt)
	d := la.pick.begin()
	defer d.end()
	tc := false
	if len(b)+la.size <= budget {
		perm := make([]int, la.n)
		permute(perm, la.pick.weights)
		for _, i := range perm {
			d.drawn = append(d.drawn, int32(i))
			b = la.appendRecord(b, d, i)
		}
	} else if la.off == nil && la.pick.weights == nil {
		b, tc = la.appendUniformAddrs(b, d, budget)
	} else {
		// Not every record fits, so the draws end before the records
		// do.
		for {
			var i int
			if la.pick.weights == nil {
				i = d.nextUniform()
			} else {
				i = d.next()
			}
			if len(b)+12+la.rdlen(i) > budget {
				tc = true
				break
			}
			b = la.appendRecord(b, d, i)
		}
	}
	an, ar := len(d.at)+d.count, 0
	if !tc && la.qtype == dns.TypeSRV {
		b, ar = la.appendGlue(b, d, budget)
	}
	b = append(b, opt...)
	if len(opt) > 0 {
		ar++
	}
	binary.BigEndian.PutUint16(b[6:], uint16(an))
	binary.BigEndian.PutUint16(b[8:], 0)
	binary.BigEndian.PutUint16(b[10:], uint16(ar))
	b[2] &^= 0x02
	if tc {
		b[2] |= 0x02
	}
	return b
}

// appendUniformAddrs is the loop of write for A and AAAA records of
// one weight, the common case: the records have one size, so their
// number is known at once, and the draws are uniform.
func (la *largeAnswer) appendUniformAddrs(b []byte, d *drawState, budget int) ([]byte, bool) {
	size := 12 + la.addrLen
	k := min(max(budget-len(b), 0)/size, la.n)
	n := len(b)
	b = slices.Grow(b, k*size)[:n+k*size]
	for j := range k {
		i := d.nextUniform()
		at := b[n+j*size : n+(j+1)*size]
		*(*[10]byte)(at) = la.hdr
		at[10], at[11] = 0, byte(la.addrLen)
		copy(at[12:], la.data[i*la.addrLen:])
	}
	d.count = k
	return b, k < la.n
}

// appendRecord appends answer record i, its owner a pointer to the
// question (RFC 1035 section 4.1.4), and notes where it starts.
func (la *largeAnswer) appendRecord(b []byte, d *drawState, i int) []byte {
	d.at = append(d.at, int32(len(b)))
	rd := la.rdata(i)
	n := len(b)
	// Stores of fixed size rather than appends: a reply is hundreds of
	// records of a few bytes each.
	b = slices.Grow(b, 12+len(rd))[:n+12+len(rd)]
	*(*[10]byte)(b[n:]) = la.hdr
	b[n+10], b[n+11] = byte(len(rd)>>8), byte(len(rd))
	switch len(rd) {
	case 4:
		*(*[4]byte)(b[n+12:]) = [4]byte(rd)
	case 16:
		*(*[16]byte)(b[n+12:]) = [16]byte(rd)
	default:
		copy(b[n+12:], rd)
	}
	return b
}

// appendGlue appends the A and AAAA records of the SRV targets written,
// in their order, once each, while they fit. Owners point at the target
// in the SRV record where a pointer can reach it; further on they are
// written out.
func (la *largeAnswer) appendGlue(b []byte, d *drawState, budget int) ([]byte, int) {
	n := 0
	for k, at := range d.at {
		i := int(d.drawn[k])
		addr := la.glue(i)
		if addr == nil {
			continue
		}
		if la.gfirst != nil {
			f := la.gfirst[i]
			if d.glued == nil {
				d.glued = make([]uint64, len(d.chosen))
			}
			if d.glued[f>>6]&(1<<(f&63)) != 0 {
				continue
			}
			d.glued[f>>6] |= 1 << (f & 63)
			d.gluedList = append(d.gluedList, f)
		}
		target := int(at) + 12 + 6 // after owner, fixed fields, priority, weight, port
		owner := 2
		if target > 0x3fff {
			owner = len(la.rdata(i)) - 6
		}
		if len(b)+owner+10+len(addr) > budget {
			break
		}
		if target > 0x3fff {
			b = append(b, la.rdata(i)[6:]...)
		} else {
			b = append(b, 0xc0|byte(target>>8), byte(target))
		}
		t := dns.TypeA
		if len(addr) == 16 {
			t = dns.TypeAAAA
		}
		b = binary.BigEndian.AppendUint16(b, t)
		b = binary.BigEndian.AppendUint16(b, dns.ClassINET)
		b = binary.BigEndian.AppendUint32(b, la.ttl)
		b = binary.BigEndian.AppendUint16(b, uint16(len(addr)))
		b = append(b, addr...)
		n++
	}
	return b, n
}
