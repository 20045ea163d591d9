package main

import (
	"bytes"
	"os"
	"testing"
	"time"
)

func TestParseMetric(t *testing.T) {
	body := []byte("# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\n" +
		"go_goroutines 42\ngo_goroutines_total 7\nbeacon_instances{status=\"passing\"} 3\n")
	tests := []struct {
		name string
		want float64
		ok   bool
	}{
		{"go_goroutines", 42, true},
		{"go_goroutines_total", 7, true},
		{"beacon_instances", 0, false}, // labelled only
		{"absent", 0, false},
	}
	for _, tc := range tests {
		got, err := parseMetric(body, tc.name)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMetric(%s) = %v, %v; want %v, ok %v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseProc(t *testing.T) {
	stat := []byte("1234 (bea con) (x)) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 1 0 99 1000 200\n")
	if cpu, err := parseStatCPU(stat); err != nil || cpu != 4*time.Second {
		t.Errorf("parseStatCPU = %s, %v; want 4s", cpu, err)
	}
	status := []byte("Name:\tbeacon\nVmPeak:\t  99 kB\nVmRSS:\t   2048 kB\nThreads:\t7\n")
	if rss, err := parseStatusRSS(status); err != nil || rss != 2<<20 {
		t.Errorf("parseStatusRSS = %d, %v; want 2 MiB", rss, err)
	}
	for _, bad := range []string{"", "1 (x) S 1", "1 (x) S 1 2 3 4 5 6 7 8 9 10 -1 5"} {
		if _, err := parseStatCPU([]byte(bad)); err == nil {
			t.Errorf("parseStatCPU(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "VmRSS: lots", "VmRSS: -4 kB"} {
		if _, err := parseStatusRSS([]byte(bad)); err == nil {
			t.Errorf("parseStatusRSS(%q) accepted", bad)
		}
	}
	// This process's own files parse.
	for _, f := range []struct {
		path  string
		parse func([]byte) error
	}{
		{"/proc/self/stat", func(b []byte) error { _, err := parseStatCPU(b); return err }},
		{"/proc/self/status", func(b []byte) error { _, err := parseStatusRSS(b); return err }},
	} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Skipf("no %s here: %v", f.path, err)
		}
		if err := f.parse(b); err != nil {
			t.Errorf("%s: %v", f.path, err)
		}
	}
}

// FuzzParseMetric checks that any exposition text parses without a
// panic, and that a value is only found on a line of that sample.
func FuzzParseMetric(f *testing.F) {
	f.Add([]byte("go_goroutines 42\n"), "go_goroutines")
	f.Fuzz(func(t *testing.T, body []byte, name string) {
		if _, err := parseMetric(body, name); err == nil && !bytes.Contains(body, []byte(name+" ")) {
			t.Fatalf("found %q in a body without it", name)
		}
	})
}

// FuzzParseProc checks that any /proc text parses without a panic and
// never into a negative figure.
func FuzzParseProc(f *testing.F) {
	f.Add([]byte("1 (beacon) S 1 2 3 4 5 6 7 8 9 10 250 150 0\n"))
	f.Add([]byte("VmRSS:\t 2048 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if cpu, err := parseStatCPU(b); err == nil && cpu < 0 {
			t.Fatalf("negative CPU time %s", cpu)
		}
		if rss, err := parseStatusRSS(b); err == nil && rss < 0 {
			t.Fatalf("negative RSS %d", rss)
		}
	})
}
