package dnsserver

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Response-rate limiting, as NSD and Knot DNS do it: UDP responses are
// counted per client network (a /24 in IPv4, a /56 in IPv6: what one
// site holds) and per second. Within Config.RateLimit they go out as
// usual; beyond it, one in Config.RateLimitSlip is sent as an empty reply
// with TC set, no larger than the query, and the rest are dropped. A
// forged source address thus gets a victim at most RateLimit full answers
// a second, while a real client whose network went over the limit
// retries over TCP, which is never limited.
//
// The counts live in a fixed table of rrlSlots slots, 1 MiB, allocated
// only when the limit is on; a network's slot is chosen by a seeded hash
// of it. A slot holds the network and, in one word, the second and the
// count, so counting costs two atomic loads and one atomic add, with no
// lock. A network whose slot another network holds takes it over and
// starts afresh, as in NSD: sharing a slot can let responses through,
// but never limits a network that sent few.
const (
	rrlSlots = 1 << 16
	// rrlIPv4Bits and rrlIPv6Bits are the client network's prefix.
	rrlIPv4Bits = 24
	rrlIPv6Bits = 56
)

// verdict is what becomes of one response.
type verdict uint8

const (
	pass verdict = iota // within the limit: answer
	slip                // over it: an empty truncated reply
	drop                // over it: nothing
)

// limiter counts UDP responses per client network.
type limiter struct {
	rate  uint64
	slip  uint64
	seed  uint64
	now   func() time.Time
	slots []rrlSlot

	slipped prometheus.Counter
	dropped prometheus.Counter
}

// newLimiter returns the limiter cfg asks for, or nil when RateLimit is
// 0. Its metrics go to cfg.Registerer.
func newLimiter(cfg *Config) *limiter {
	if cfg.RateLimit <= 0 {
		return nil
	}
	limited := promauto.With(cfg.Registerer).NewCounterVec(prometheus.CounterOpts{
		Namespace: "beacon", Subsystem: "dns", Name: "rate_limited_responses_total",
		Help: "UDP responses over the rate limit of their client network, by what became of them: slipped (sent empty with TC set) or dropped.",
	}, []string{"action"})
	return &limiter{
		rate:    uint64(min(cfg.RateLimit, math.MaxUint32)),
		slip:    uint64(cfg.RateLimitSlip),
		seed:    rand.Uint64(),
		now:     cfg.Now,
		slots:   make([]rrlSlot, rrlSlots),
		slipped: limited.WithLabelValues("slipped"),
		dropped: limited.WithLabelValues("dropped"),
	}
}

// second is the current rate-limiting period.
func (l *limiter) second() uint64 { return uint64(l.now().Unix()) }

// rrlSlot counts the responses to one client network.
type rrlSlot struct {
	network atomic.Uint64 // network(ip); 0 for none yet
	count   atomic.Uint64 // the second, in the high half, and the count
}

// check counts one response to ip in second sec and says what becomes
// of it.
func (l *limiter) check(ip netip.Addr, sec uint64) verdict {
	k := network(ip)
	s := &l.slots[mix(k^l.seed)&(rrlSlots-1)]
	this := sec << 32
	var n uint64
	if s.network.Load() != k {
		s.network.Store(k)
		s.count.Store(this | 1)
		n = 1
	} else if c := s.count.Load(); c&^0xffffffff == this || !s.count.CompareAndSwap(c, this|1) {
		// This second's count, or another response just started it.
		n = s.count.Add(1) & 0xffffffff
	} else {
		n = 1
	}
	switch over := n - l.rate; {
	case n <= l.rate:
		return pass
	case l.slip > 0 && (over-1)%l.slip == 0:
		return slip
	}
	return drop
}

// network is ip's client network as a number, never 0, IPv4 and IPv6
// apart.
func network(ip netip.Addr) uint64 {
	ip = ip.Unmap()
	if ip.Is4() {
		a := ip.As4()
		return 1<<63 | uint64(binary.BigEndian.Uint32(a[:]))>>(32-rrlIPv4Bits)
	}
	a := ip.As16()
	return 1<<62 | binary.BigEndian.Uint64(a[:8])>>(64-rrlIPv6Bits)
}

// mix is the finalizer of SplitMix64: every bit of x moves every bit of
// the result. The seed XORed in before keeps clients from choosing
// networks that share a slot.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// admit decides whether req, from w's client in second sec, gets its
// response: true to answer it; false when the limit took it, after
// sending the truncated reply of a slip.
func (l *limiter) admit(w dns.ResponseWriter, req *dns.Msg, sec uint64) bool {
	switch l.check(clientIP(w.RemoteAddr()), sec) {
	case pass:
		return true
	case slip:
		l.slipped.Inc()
		m := base(req)
		finish(m, parseEDNS(req), false)
		m.Truncated = true
		_ = w.WriteMsg(m)
		return false
	}
	l.dropped.Inc()
	return false
}

// limitedHandler puts the limit in front of a handler, for miekg/dns's
// UDP server.
type limitedHandler struct {
	l    *limiter
	next dns.Handler
}

func (h limitedHandler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if h.l.admit(w, req, h.l.second()) {
		h.next.ServeDNS(w, req)
	}
}

var _ dns.Handler = limitedHandler{}
