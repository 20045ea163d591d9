package health

import (
	"slices"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/beacon-dns/beacon/store"
)

var (
	kinds    = [...]store.Kind{store.KindHTTP, store.KindTCP, store.KindTTL}
	statuses = [...]store.Status{store.Passing, store.Warning, store.Critical}
)

// metrics holds the labelled children, resolved once: a run costs one
// counter increment and one histogram observation.
type metrics struct {
	checks   [len(kinds)][len(statuses)]prometheus.Counter
	duration [len(kinds)]prometheus.Observer
	noResult [len(localErrnos)]prometheus.Counter
	lateness prometheus.Observer
}

// newMetrics registers on reg; with reg nil the metrics exist but are
// registered nowhere (promauto.With(nil) registers nothing).
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	checks := f.NewCounterVec(prometheus.CounterOpts{
		Namespace: "beacon", Subsystem: "health", Name: "checks_total",
		Help: "Check results by kind and status, before thresholds; for ttl, expiries.",
	}, []string{"kind", "status"})
	duration := f.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "beacon", Subsystem: "health", Name: "check_duration_seconds",
		Help:    "Time one HTTP or TCP check took, timeouts included.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"kind"})
	noResult := f.NewCounterVec(prometheus.CounterOpts{
		Namespace: "beacon", Subsystem: "health", Name: "runs_without_result_total",
		Help: "HTTP and TCP runs that had no result because this host was out of a resource, by errno; the check kept its status.",
	}, []string{"errno"})
	m := &metrics{lateness: f.NewHistogram(prometheus.HistogramOpts{
		Namespace: "beacon", Subsystem: "health", Name: "check_lateness_seconds",
		Help:    "How long after its planned time each run started.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
	})}
	for i, errno := range localErrnos {
		m.noResult[i] = noResult.WithLabelValues(errnoName(errno))
	}
	for i, k := range kinds {
		for j, st := range statuses {
			m.checks[i][j] = checks.WithLabelValues(string(k), string(st))
		}
		if k != store.KindTTL {
			m.duration[i] = duration.WithLabelValues(string(k))
		}
	}
	return m
}

func kindIndex(k store.Kind) int {
	for i, x := range kinds {
		if x == k {
			return i
		}
	}
	return -1
}

// statusIndex is the place of s in statuses, best first. The store ranks
// statuses, so a status it counts as critical is counted so here too.
func statusIndex(s store.Status) int {
	for i, x := range statuses {
		if x.Worse(s) == x { // s is no worse than x
			return i
		}
	}
	return len(statuses) - 1
}

func (m *metrics) checked(k store.Kind, s store.Status) {
	if i := kindIndex(k); i >= 0 {
		m.checks[i][statusIndex(s)].Inc()
	}
}

func (m *metrics) observe(k store.Kind, s store.Status, d time.Duration) {
	i := kindIndex(k)
	if i < 0 {
		return
	}
	m.checks[i][statusIndex(s)].Inc()
	if m.duration[i] != nil {
		m.duration[i].Observe(d.Seconds())
	}
}

// Snapshotter is what the instances collector reads; *store.Store
// satisfies it.
type Snapshotter interface {
	Snapshot() *store.Snapshot
}

// instancesCollector computes beacon_instances{status} from the current
// snapshot at scrape time, so the figure is never stale and costs nothing
// between scrapes.
type instancesCollector struct {
	src  Snapshotter
	desc *prometheus.Desc
}

// NewInstancesCollector returns a collector of beacon_instances{status},
// the registered instances by health. New registers one when its Config
// has a Registerer; register this one only where no Scheduler does.
func NewInstancesCollector(src Snapshotter) prometheus.Collector {
	return &instancesCollector{src: src, desc: prometheus.NewDesc("beacon_instances",
		"Registered instances by health status, counted at scrape time.", []string{"status"}, nil)}
}

func (c *instancesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *instancesCollector) Collect(ch chan<- prometheus.Metric) {
	var n [len(statuses)]int
	for _, svc := range c.src.Snapshot().Services() {
		for _, in := range svc.Instances {
			n[statusIndex(in.Health)]++
		}
	}
	for i, st := range statuses {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n[i]), string(st))
	}
}

var _ prometheus.Collector = (*instancesCollector)(nil)

// errnoName is the C name of one of localErrnos, as operators grep for it.
func errnoName(errno syscall.Errno) string {
	switch errno {
	case syscall.EMFILE:
		return "EMFILE"
	case syscall.ENFILE:
		return "ENFILE"
	case syscall.ENOBUFS:
		return "ENOBUFS"
	case syscall.ENOMEM:
		return "ENOMEM"
	}
	return errno.Error()
}

// lacked counts a run without result for err, one of localErrnos.
func (m *metrics) lacked(err error) {
	if errno, ok := localErrno(err); ok {
		m.noResult[slices.Index(localErrnos[:], errno)].Inc()
	}
}
