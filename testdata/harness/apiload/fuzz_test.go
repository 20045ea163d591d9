package main

import (
	"strings"
	"testing"
)

// FuzzMetricValue feeds arbitrary /metrics text: the parser must not
// panic, and a value it returns must come from a line naming the metric.
func FuzzMetricValue(f *testing.F) {
	f.Add([]byte("# TYPE x counter\nx 3\n"), "x")
	f.Add([]byte("x{a=\"b\"} 1\nx 2 17\n"), "x")
	f.Fuzz(func(t *testing.T, text []byte, name string) {
		if name == "" {
			return
		}
		if _, err := metricValue(text, name); err == nil && !strings.Contains(string(text), name) {
			t.Fatalf("value for %q from text without it", name)
		}
	})
}

// FuzzParseProc feeds arbitrary /proc status and stat text.
func FuzzParseProc(f *testing.F) {
	f.Add([]byte("VmRSS:\t 12 kB\nRssAnon:\t 3 kB\n"))
	f.Add([]byte("1 (a) b) S 1 1 1 0 -1 0 0 0 0 0 5 6 0 0"))
	f.Fuzz(func(t *testing.T, text []byte) {
		if m, err := parseStatus(text); err == nil && m.RSS%1024 != 0 {
			t.Fatalf("RSS %d is not whole kB", m.RSS)
		}
		if d, err := parseStat(text); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v", d)
		}
		_, _ = listenAddr(string(text))
	})
}
