package admin

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	requests *prometheus.CounterVec
}

// newMetrics registers on reg; with nil it registers nothing but still
// counts, so observe needs no checks.
func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{requests: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Namespace: "beacon", Subsystem: "api", Name: "requests_total",
		Help: "HTTP API requests answered, by route pattern and status code.",
	}, []string{"route", "code"})}
}

// observe counts one answered request. route is the pattern's path (or
// "unmatched"), never the raw path, so the label set stays bounded.
func (m *metrics) observe(route string, code int) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// counter is a plain atomic counter.
type counter struct{ n atomic.Int64 }

func (c *counter) add(n int64) { c.n.Add(n) }
func (c *counter) load() int64 { return c.n.Load() }
