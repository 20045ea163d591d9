package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// TestMetricsServed reads /metrics from serve itself: the operators'
// metrics are there, and every beacon_ metric passes the linter.
func TestMetricsServed(t *testing.T) {
	fs := newFlagSet("serve", "")
	cfg, err := parseServe(fs, []string{"-data-dir", t.TempDir(), "-dns-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0"},
		mapEnv(map[string]string{"BEACON_PANIC_THRESHOLD": "0.5"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DNS.PanicThreshold != 0.5 {
		t.Fatalf("BEACON_PANIC_THRESHOLD=0.5 gave a threshold of %v", cfg.DNS.PanicThreshold)
	}
	logs := &testkit.SyncBuffer{}
	probe := mdnsProbe{NSSwitch: filepath.Join("testdata", "nsswitch", "debian-mdns.conf"), ResolvedStub: filepath.Join(t.TempDir(), "absent")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, newLogger(logs, cfg.LogLevel), probe) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not return after its context ended")
		}
	}()
	httpAddr := regexp.MustCompile(`http listening" addr=(127\.0\.0\.1:\d+)`)
	var addr string
	eventually(t, 10*time.Second, func() string {
		if m := httpAddr.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
			return ""
		}
		return "no http listening line in the log:\n" + logs.String()
	})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, name := range []string{"beacon_build_info", "beacon_dns_forwards_total", "beacon_store_write_errors_total", "beacon_dns_panic_services"} {
		if families[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if bi := families["beacon_build_info"]; bi != nil {
		m := bi.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if m.GetGauge().GetValue() != 1 || labels["version"] != buildVersion() || labels["goversion"] != runtime.Version() {
			t.Errorf("beacon_build_info: %v = %v, want version %q goversion %q = 1", labels, m.GetGauge().GetValue(), buildVersion(), runtime.Version())
		}
	}
	if fw := families["beacon_dns_forwards_total"]; fw != nil && len(fw.GetMetric()) < 6 {
		t.Errorf("beacon_dns_forwards_total has %d rcodes at start, want each resolved at start", len(fw.GetMetric()))
	}
	var ours []*dto.MetricFamily
	for name, mf := range families {
		if strings.HasPrefix(name, "beacon_") {
			ours = append(ours, mf)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(ours).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestPanicThresholdFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{[]string{"-panic-threshold", "1.5"}, nil, []string{"-panic-threshold", "1.5", "from 0 to 1"}},
		{nil, map[string]string{"BEACON_PANIC_THRESHOLD": "-0.2"}, []string{"BEACON_PANIC_THRESHOLD", "-0.2"}},
		{nil, map[string]string{"BEACON_PANIC_THRESHOLD": "half"}, []string{"BEACON_PANIC_THRESHOLD", "half"}},
	} {
		_, err := parseServe(newFlagSet("serve", ""), c.args, mapEnv(c.env))
		if err == nil {
			t.Errorf("%v %v: accepted", c.args, c.env)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%v %v: error %q, want one line naming %q", c.args, c.env, err, w)
			}
		}
	}
	cfg, err := parseServe(newFlagSet("serve", ""), []string{"-panic-threshold", "0.3"}, mapEnv(nil))
	if err != nil || cfg.DNS.PanicThreshold != 0.3 || cfg.DNS.Policy().PanicThreshold != 0.3 {
		t.Errorf("-panic-threshold 0.3: %v, %+v", err, cfg)
	}
}
