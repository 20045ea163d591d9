package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	commitSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return &metrics{}
	}
	return &metrics{commitSeconds: promauto.With(reg).NewHistogram(prometheus.HistogramOpts{
		Namespace: "beacon", Subsystem: "store", Name: "commit_duration_seconds",
		Help:    "Time to commit one batch of writes to BoltDB, fsync included.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})}
}

func (m *metrics) commit(d time.Duration) {
	if m.commitSeconds != nil {
		m.commitSeconds.Observe(d.Seconds())
	}
}
