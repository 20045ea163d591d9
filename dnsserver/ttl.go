package dnsserver

import (
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// ttlPolicy turns an instance's health and checks into a record TTL, so
// that no resolver caches an instance longer than beacon would take to
// notice it failing (DESIGN.md, "TTLs follow health").
type ttlPolicy struct {
	passing time.Duration
	warning time.Duration
}

// minTTLLeft is the floor of a TTL capped by a TTL check about to expire:
// a zero TTL would tell resolvers not to cache at all.
const minTTLLeft = time.Second

// instanceTTL returns the TTL of a record of in at now, and the earliest
// deadline of its TTL checks (zero if none): the answer's TTL of S seconds
// holds until that deadline minus S, which bounds how long a packed answer
// may be reused.
func (p ttlPolicy) instanceTTL(in *store.Instance, now time.Time) (time.Duration, time.Time) {
	ttl := p.passing
	if in.Health == store.Warning {
		ttl = p.warning
	}
	var deadline time.Time
	for _, c := range in.Checks {
		switch c.Kind {
		case store.KindHTTP, store.KindTCP:
			if c.Interval > 0 && c.Interval < ttl {
				ttl = c.Interval
			}
		case store.KindTTL:
			if c.TTL <= 0 {
				continue
			}
			d := c.TTLDeadline()
			if left := max(d.Sub(now), minTTLLeft); left < ttl {
				ttl = left
			}
			if deadline.IsZero() || d.Before(deadline) {
				deadline = d
			}
		}
	}
	return ttl, deadline
}

// seconds converts a TTL to the whole seconds a record carries, rounding
// down so a resolver never caches longer than the policy allows, but
// never below one second.
func seconds(d time.Duration) uint32 {
	if d < time.Second {
		return 1
	}
	if d > maxTTL {
		d = maxTTL
	}
	return uint32(d / time.Second)
}

// setTTL gives every record the RRset's TTL, the smallest of its
// instances', and bounds how long the packed answer stays right.
func (l *lookup) setTTL(t rrsetTTL, rrs []dns.RR) {
	s := seconds(t.ttl)
	for _, rr := range rrs {
		rr.Header().Ttl = s
	}
	if !t.deadline.IsZero() {
		l.m.dep.until(t.deadline.Add(-time.Duration(s) * time.Second))
	}
}

// rrsetTTL folds instance TTLs into the RRset's.
type rrsetTTL struct {
	ttl      time.Duration
	deadline time.Time
	set      bool
}

func (t *rrsetTTL) add(ttl time.Duration, deadline time.Time) {
	if !t.set || ttl < t.ttl {
		t.ttl, t.set = ttl, true
	}
	if !deadline.IsZero() && (t.deadline.IsZero() || deadline.Before(t.deadline)) {
		t.deadline = deadline
	}
}
