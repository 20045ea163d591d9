package health

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/beacon-dns/beacon/store"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	st := openStore(t, t.TempDir(), nil)
	reg := prometheus.NewPedanticRegistry()
	ok, bad, busy := newBackend(t, 200), newBackend(t, 500), newBackend(t, 429)
	start(t, st, Config{Registerer: reg})
	register(t, st, "ok", store.CheckSpec{HTTP: ok.URL, Interval: time.Second})
	register(t, st, "bad", store.CheckSpec{HTTP: bad.URL, Interval: time.Second, Status: store.Passing})
	register(t, st, "busy", store.CheckSpec{HTTP: busy.URL, Interval: time.Second})
	register(t, st, "ttl", store.CheckSpec{TTL: 100 * time.Millisecond, Status: store.Passing})
	waitFor(t, 2*time.Second, "checks settled", func() bool {
		return statusOf(st, "service:ok") == store.Passing && statusOf(st, "service:bad") == store.Critical &&
			statusOf(st, "service:ttl") == store.Critical && statusOf(st, "service:busy") == store.Warning
	})

	want := `
# HELP beacon_instances Registered instances by health status, counted at scrape time.
# TYPE beacon_instances gauge
beacon_instances{status="critical"} 2
beacon_instances{status="passing"} 1
beacon_instances{status="warning"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "beacon_instances"); err != nil {
		t.Error(err)
	}
	// The TTL expiry is counted just after the store shows it.
	waitFor(t, time.Second, "ttl expiry counted", func() bool { return counterValue(t, reg, "ttl", "critical") >= 1 })
	for _, c := range []struct{ kind, status string }{{"http", "passing"}, {"http", "warning"}, {"http", "critical"}} {
		if got := counterValue(t, reg, c.kind, c.status); got < 1 {
			t.Errorf("beacon_health_checks_total{kind=%q,status=%q} = %v, want at least 1", c.kind, c.status, got)
		}
	}
	if n := testutil.CollectAndCount(reg, "beacon_health_check_duration_seconds"); n != 2 {
		t.Errorf("beacon_health_check_duration_seconds has %d series, want 2 (http, tcp)", n)
	}
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, reg)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// counterValue reads beacon_health_checks_total{kind,status}, or -1.
func counterValue(t *testing.T, reg prometheus.Gatherer, kind, status string) float64 {
	return metricValue(t, reg, "beacon_health_checks_total", map[string]string{"kind": kind, "status": status})
}

// metricValue reads the counter or gauge name{labels}, or -1 when there
// is none.
func metricValue(t testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	for _, mf := range mustGather(t, reg) {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsAre(m.GetLabel(), labels) {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func labelsAre(labels []*dto.LabelPair, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range labels {
		got[l.GetName()] = l.GetValue()
	}
	return maps.Equal(got, want)
}

func mustGather(t testing.TB, reg prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}
