package dnsserver

import (
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// seconds converts a TTL to the whole seconds a record carries, rounding
// down so a resolver never caches longer than the policy allows, but
// never below one second.
func seconds(d time.Duration) uint32 { return store.TTLSeconds(d) }

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
