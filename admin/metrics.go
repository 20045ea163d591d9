package admin

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// durationBuckets reach to blocking queries, which may wait up to 10
// minutes by design: their time says how long watchers waited, not that
// beacon was slow.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 600}

// newMetrics registers on reg; with nil it registers nothing but still
// counts, so observe needs no checks.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "beacon", Subsystem: "api", Name: "requests_total",
			Help: "HTTP API requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "beacon", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by route pattern; blocking queries include their wait.",
			Buckets: durationBuckets,
		}, []string{"route"}),
	}
}

// observe counts and times one answered request. route is the pattern's
// path (or "unmatched"), never the raw path, so the label set stays
// bounded.
func (m *metrics) observe(route string, code int, took time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(took.Seconds())
}

// counter is a plain atomic counter.
type counter struct{ n atomic.Int64 }

func (c *counter) add(n int64) { c.n.Add(n) }
func (c *counter) load() int64 { return c.n.Load() }
