package dnsserver

import (
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// lookup is one question being answered: the parsed name plus what the
// answer functions need. Each answerX returns the records it found or an
// outcome error for reply.
type lookup struct {
	z     *zone
	snap  *store.Snapshot
	now   time.Time
	qname string // as asked; answers are owned by it, so they compress to a pointer at the question
	qtype uint16
	q     query
	m     meta
	// room is the space for answer records in the client's limit, once
	// header, question and OPT record are counted. An A, AAAA or SRV
	// answer larger than that is answered by answerLarge.
	room int
}

// run dispatches on what the name stands for.
func (l *lookup) run() (records, error) {
	switch l.q.kind {
	case kindApex:
		return l.answerApex()
	case kindNS:
		return l.answerNSHost()
	case kindEmpty:
		if svc := l.service(); svc != nil {
			return l.answerService(svc)
		}
		return l.answerExisting()
	case kindService:
		svc := l.service()
		if svc == nil || (l.q.tag != "" && !hasTag(svc.Tags, l.q.tag)) {
			return records{}, errNXDomain
		}
		return l.answerService(svc)
	case kindTagParent:
		l.m.dep.readCatalog(l.snap)
		if !l.z.tags.has(l.snap, l.q.tag) {
			return records{}, errNXDomain
		}
		return l.answerExisting()
	case kindAddr:
		return l.answerAddr()
	case kindReverse:
		return l.answerPTR()
	case kindOutside:
		l.m.forward = true
		return records{}, errRefused
	}
	return records{}, errNXDomain
}

// service returns the service the name asks for and notes that the answer
// depends on it.
func (l *lookup) service() *store.Service {
	svc := l.snap.Service(l.q.service)
	l.m.dep.readService(l.q.service, svc)
	return svc
}

func (l *lookup) answerService(svc *store.Service) (records, error) {
	switch l.qtype {
	case dns.TypeA, dns.TypeAAAA:
		return l.answerA(svc)
	case dns.TypeSRV:
		return l.answerSRV(svc)
	case dns.TypeANY:
		return l.answerANY()
	}
	return records{}, errNoData
}

// answerA gives the addresses of healthy instances, one record per
// address (an RRset holds no duplicates, RFC 2181 section 5) weighted by
// the sum of the weights of the instances there. Instances registered by
// host name have no address to give.
func (l *lookup) answerA(svc *store.Service) (records, error) {
	if len(svc.Instances)*minRecord(l.qtype) > l.room {
		return l.answerLarge(svc)
	}
	var r records
	var ttl rrsetTTL
	seen := map[netip.Addr]int{}
	panicking := l.z.policy.InPanic(svc)
	for _, in := range svc.Instances {
		a := in.Addr.Unmap().WithZone("")
		if !l.z.policy.Includes(in, l.q.tag, panicking) || !a.IsValid() || a.Is4() != (l.qtype == dns.TypeA) {
			continue
		}
		ttl.add(l.z.policy.InstanceTTL(in, l.now, panicking))
		w := uint32(weightOf(in))
		if i, ok := seen[a]; ok {
			r.weights[i] += w
			continue
		}
		seen[a] = len(r.answer)
		r.answer = append(r.answer, addrRR(l.qname, a, 0))
		r.weights = append(r.weights, w)
	}
	if len(r.answer) == 0 {
		return records{}, errNoData
	}
	if len(r.answer)*minRecord(l.qtype) > l.room {
		return l.answerLarge(svc)
	}
	l.setTTL(ttl, r.answer)
	r.shuffle = true
	return r, nil
}

// answerSRV gives one SRV per healthy instance: priority 1 when passing
// and 2 when warning, so RFC 2782 clients try passing ones first; the
// matching weight; and as target the instance's <hex>.addr name, whose
// address goes in the additional section, or its host name without glue.
func (l *lookup) answerSRV(svc *store.Service) (records, error) {
	if len(svc.Instances)*minRecord(l.qtype) > l.room {
		return l.answerLarge(svc)
	}
	var r records
	var ttl rrsetTTL
	size := 0
	glued := map[string]bool{}
	panicking := l.z.policy.InPanic(svc)
	for _, in := range svc.Instances {
		if !l.z.policy.Includes(in, l.q.tag, panicking) {
			continue
		}
		ttl.add(l.z.policy.InstanceTTL(in, l.now, panicking))
		prio := priorityOf(in)
		var target string
		if a := in.Addr.Unmap().WithZone(""); a.IsValid() {
			target = hexTarget(a, l.z.origin)
			if !glued[target] {
				glued[target] = true
				r.extra = append(r.extra, addrRR(target, a, 0))
			}
		} else {
			target = strings.ToLower(dns.Fqdn(in.Address))
		}
		r.answer = append(r.answer, &dns.SRV{
			Hdr:      hdr(l.qname, dns.TypeSRV, 0),
			Priority: prio,
			Weight:   uint16(min(weightOf(in), 65535)),
			Port:     uint16(in.Port),
			Target:   target,
		})
		// Owner pointer, fixed fields, priority, weight and port, and
		// the target, never compressed (RFC 2782), of plain labels.
		size += 2 + 10 + 6 + len(target) + 1
	}
	if len(r.answer) == 0 {
		return records{}, errNoData
	}
	if size > l.room {
		return l.answerLarge(svc)
	}
	l.setTTL(ttl, r.answer)
	l.setTTL(ttl, r.extra)
	// Clients choose among SRV records by weight themselves (RFC 2782);
	// the order only spreads clients that take the first.
	r.shuffle = true
	return r, nil
}

// answerANY answers ANY minimally, with the HINFO of RFC 8482 section 4.2,
// so the server cannot be used to amplify.
func (l *lookup) answerANY() (records, error) {
	return records{answer: []dns.RR{&dns.HINFO{Hdr: hdr(l.qname, dns.TypeHINFO, l.z.posTTL), Cpu: "RFC8482"}}}, nil
}

// answerExisting answers at a name that exists but holds no records.
func (l *lookup) answerExisting() (records, error) {
	if l.qtype == dns.TypeANY {
		return l.answerANY()
	}
	return records{}, errNoData
}

// answerApex gives the zone's SOA and NS, with the server's address as
// glue for the NS target, so forwarders and stub zones can point at it.
func (l *lookup) answerApex() (records, error) {
	switch l.qtype {
	case dns.TypeSOA:
		l.m.dep.readIndex(l.snap)
		return records{answer: []dns.RR{l.z.soa(serialOf(l.snap))}}, nil
	case dns.TypeNS:
		return records{
			answer: []dns.RR{&dns.NS{Hdr: hdr(l.qname, dns.TypeNS, l.z.posTTL), Ns: l.z.nsName}},
			extra:  []dns.RR{addrRR(l.z.nsName, l.z.nsAddr, l.z.posTTL)},
		}, nil
	}
	return l.answerExisting()
}

// answerNSHost answers at ns.<zone>, the NS target: its address is the
// server's. A service named "ns" keeps its SRV records and tags, but its
// addresses give way to the server's.
func (l *lookup) answerNSHost() (records, error) {
	switch l.qtype {
	case dns.TypeA, dns.TypeAAAA:
		if l.z.nsAddr.Is4() != (l.qtype == dns.TypeA) {
			return records{}, errNoData
		}
		return records{answer: []dns.RR{addrRR(l.qname, l.z.nsAddr, l.z.posTTL)}}, nil
	case dns.TypeANY:
		return l.answerANY()
	}
	if svc := l.service(); svc != nil {
		return l.answerService(svc)
	}
	return records{}, errNoData
}

// answerAddr answers <hex>.addr names, the SRV targets; any well-formed
// one stands for its address, registered or not, as in Consul.
func (l *lookup) answerAddr() (records, error) {
	switch l.qtype {
	case dns.TypeA, dns.TypeAAAA:
		if l.q.addr.Is4() != (l.qtype == dns.TypeA) {
			return records{}, errNoData
		}
		return records{answer: []dns.RR{addrRR(l.qname, l.q.addr, l.z.posTTL)}}, nil
	}
	return l.answerExisting()
}

// answerPTR names the services registered at an address, one PTR each.
// Other reverse names, and other types, belong to the recursors.
func (l *lookup) answerPTR() (records, error) {
	names := l.snap.ServicesAt(l.q.addr)
	if l.qtype != dns.TypePTR || len(names) == 0 {
		l.m.forward = true
		return records{}, errRefused
	}
	l.m.dep.readIndex(l.snap)
	var r records
	for _, n := range names {
		r.answer = append(r.answer, &dns.PTR{Hdr: hdr(l.qname, dns.TypePTR, l.z.posTTL), Ptr: n + "." + l.z.origin})
	}
	return r, nil
}

// priorityOf is the SRV priority of an instance: 1 when passing, 2 when
// warning and 3 when critical (in panic mode), so that RFC 2782 clients
// try the healthiest first.
func priorityOf(in *store.Instance) uint16 {
	switch in.Health {
	case store.Passing:
		return 1
	case store.Warning:
		return 2
	}
	return 3
}

// weightOf is the SRV weight of an instance: its warning weight when
// warning, else its passing one (a critical instance in panic mode is
// weighted as if it passed, as Envoy's panic routing treats every host
// alike).
func weightOf(in *store.Instance) int {
	if in.Health == store.Warning {
		return in.Weights.Warning
	}
	return in.Weights.Passing
}

// hasTag compares tags as DNS names are compared (RFC 4343), as the
// store's Instance.HasTag does: a wider Unicode folding would find a tag
// on the service that no instance matches.
func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if equalFoldASCII(t, tag) {
			return true
		}
	}
	return false
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// addrRR is the A or AAAA record for a.
func addrRR(name string, a netip.Addr, ttl uint32) dns.RR {
	if a.Is4() {
		b := a.As4()
		return &dns.A{Hdr: hdr(name, dns.TypeA, ttl), A: b[:]}
	}
	b := a.As16()
	return &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA, ttl), AAAA: b[:]}
}
