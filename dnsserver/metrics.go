package dnsserver

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Label values of beacon_dns_requests_total. Other types and rcodes are
// counted as "other", so a client cannot grow the label space.
var (
	typeLabels  = [...]string{"A", "AAAA", "SRV", "PTR", "SOA", "NS", "ANY", "other"}
	rcodeLabels = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "other"}
)

const (
	typeOther  = uint8(len(typeLabels) - 1)
	rcodeOther = uint8(len(rcodeLabels) - 1)
)

func typeIndex(t uint16) uint8 {
	switch t {
	case dns.TypeA:
		return 0
	case dns.TypeAAAA:
		return 1
	case dns.TypeSRV:
		return 2
	case dns.TypePTR:
		return 3
	case dns.TypeSOA:
		return 4
	case dns.TypeNS:
		return 5
	case dns.TypeANY:
		return 6
	}
	return typeOther
}

func rcodeIndex(rc int) uint8 {
	switch rc {
	case dns.RcodeSuccess:
		return 0
	case dns.RcodeFormatError:
		return 1
	case dns.RcodeServerFailure:
		return 2
	case dns.RcodeNameError:
		return 3
	case dns.RcodeNotImplemented:
		return 4
	case dns.RcodeRefused:
		return 5
	case dns.RcodeBadVers:
		return 6
	}
	return rcodeOther
}

// metrics are the DNS server's Prometheus metrics. The labelled children
// are resolved once here, so a query costs a few atomic adds and one
// histogram observation.
type metrics struct {
	requests [len(typeLabels)][len(rcodeLabels)]prometheus.Counter
	duration prometheus.Histogram
	hits     prometheus.Counter
	misses   prometheus.Counter
	panics   prometheus.Counter
	// forwards counts the replies of forwarded queries by rcode.
	forwards [len(rcodeLabels)]prometheus.Counter
	// panicking is the number of services in panic mode, kept by
	// panicWatch.
	panicking atomic.Int64
}

// newMetrics registers on reg; with nil it registers nothing but still
// counts, so the hot path needs no checks.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	requests := f.NewCounterVec(prometheus.CounterOpts{
		Namespace: "beacon", Subsystem: "dns", Name: "requests_total",
		Help: "DNS requests answered, by query type and response code.",
	}, []string{"type", "rcode"})
	m := &metrics{
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: "beacon", Subsystem: "dns", Name: "request_duration_seconds",
			Help:    "Time from receiving a DNS request to handing its reply to the socket, measured for a random one in eight requests.",
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5},
		}),
		hits: f.NewCounter(prometheus.CounterOpts{
			Namespace: "beacon", Subsystem: "dns", Name: "cache_hits_total",
			Help: "DNS requests answered from the packed answer cache.",
		}),
		misses: f.NewCounter(prometheus.CounterOpts{
			Namespace: "beacon", Subsystem: "dns", Name: "cache_misses_total",
			Help: "DNS requests looked up in the packed answer cache and not found there.",
		}),
		panics: f.NewCounter(prometheus.CounterOpts{
			Namespace: "beacon", Subsystem: "dns", Name: "panics_total",
			Help: "Panics recovered while answering DNS requests, each answered SERVFAIL.",
		}),
	}
	for t, tl := range typeLabels {
		for r, rl := range rcodeLabels {
			m.requests[t][r] = requests.WithLabelValues(tl, rl)
		}
	}
	forwards := f.NewCounterVec(prometheus.CounterOpts{
		Namespace: "beacon", Subsystem: "dns", Name: "forwards_total",
		Help: "DNS requests for names outside the zone answered through the recursors, by the response code of the reply.",
	}, []string{"rcode"})
	for r, rl := range rcodeLabels {
		m.forwards[r] = forwards.WithLabelValues(rl)
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "beacon", Subsystem: "dns", Name: "panic_services",
		Help: "Services in panic mode: fewer of their instances healthy than -panic-threshold, so DNS answers with all of them.",
	}, func() float64 { return float64(m.panicking.Load()) })
	return m
}

// timedShift sets the share of requests whose duration is measured: one
// in 1<<timedShift. Reading the clock twice costs more than the rest of
// the metrics together (about 250 ns on a virtual machine, a tenth of a
// cached answer's handling), and DESIGN.md allows the hot path only a
// few atomic increments; a sample of one in eight still fills the
// histogram's quantiles at any useful rate.
const timedShift = 3

// sampleStart returns the time a sampled request started, and the zero
// time for the rest.
func sampleStart() time.Time {
	if rand.Uint32()>>(32-timedShift) != 0 {
		return time.Time{}
	}
	return time.Now()
}

// done counts one answered request, and observes its duration when it
// was sampled.
func (m *metrics) done(typ, rcode uint8, start time.Time) {
	m.requests[typ][rcode].Inc()
	if !start.IsZero() {
		m.duration.Observe(time.Since(start).Seconds())
	}
}
