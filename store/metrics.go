package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	commitSeconds prometheus.Histogram
	writeErrors   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return &metrics{}
	}
	f := promauto.With(reg)
	return &metrics{
		commitSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: "beacon", Subsystem: "store", Name: "commit_duration_seconds",
			Help:    "Time to commit one batch of writes to BoltDB, fsync included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		writeErrors: f.NewCounter(prometheus.CounterOpts{
			Namespace: "beacon", Subsystem: "store", Name: "write_errors_total",
			Help: "Writes to BoltDB (commits of registry changes and flushes of status changes) that failed.",
		}),
	}
}

func (m *metrics) writeError() {
	if m.writeErrors != nil {
		m.writeErrors.Inc()
	}
}

func (m *metrics) commit(d time.Duration) {
	if m.commitSeconds != nil {
		m.commitSeconds.Observe(d.Seconds())
	}
}
