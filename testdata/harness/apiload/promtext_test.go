package main

import (
	"os"
	"strings"
	"testing"
)

func TestMetricValue(t *testing.T) {
	// testdata/metrics.txt is /metrics of a real beacon after three
	// registrations.
	fixture, err := os.ReadFile("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		text   string
		metric string
		want   float64
		err    string
	}{
		{"commit count", string(fixture), commitCount, 3, ""},
		{"heap in use, exponent form", string(fixture), heapInuse, 2.17088e+06, ""},
		{"histogram base name is no sample", string(fixture), "beacon_store_commit_duration_seconds", 0, "not found"},
		{"prefix of a longer name", "foo_total 3\n", "foo", 0, "not found"},
		{"labelled samples skipped", "x{a=\"1\"} 5\nx 6\n", "x", 6, ""},
		{"timestamp", "x 7 1700000000000\n", "x", 7, ""},
		{"comments", "# HELP x 9\n# TYPE x counter\nx 8\n", "x", 8, ""},
		{"bad value", "x abc\n", "x", 0, "invalid syntax"},
		{"too many fields", "x 1 2 3\n", "x", 0, "malformed"},
		{"empty", "", "x", 0, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metricValue([]byte(tt.text), tt.metric)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("metricValue = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
