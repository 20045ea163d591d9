package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	// testdata/proc_status.txt is /proc/PID/status of a running beacon.
	fixture, err := os.ReadFile("testdata/proc_status.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		text string
		want memory
		err  string
	}{
		{"real beacon", string(fixture), memory{RSS: 15716 << 10, Anon: 2472 << 10, File: 13244 << 10}, ""},
		{"no split", "Name:\tx\nVmRSS:\t  100 kB\n", memory{RSS: 100 << 10}, ""},
		{"no VmRSS", "Name:\tx\nRssAnon:\t 1 kB\n", memory{}, "no VmRSS"},
		{"unit", "VmRSS:\t 1 MB\n", memory{}, "unexpected"},
		{"number", "VmRSS:\t x kB\n", memory{}, "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.text))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStatus = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	// testdata/proc_stat.txt is /proc/PID/stat of a running beacon, its
	// command renamed to one with spaces and parentheses.
	fixture, err := os.ReadFile("testdata/proc_stat.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		text string
		want time.Duration
		err  string
	}{
		{"real beacon", string(fixture), 10 * time.Millisecond, ""},
		{"utime plus stime", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 250 50 0 0", 3 * time.Second, ""},
		{"short", "1 (x) S 1 1", 0, "fields"},
		{"no command", "1 x S", 0, "no command"},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a 50 0 0", 0, "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.text))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStat = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestReadOwnProcess(t *testing.T) {
	m, err := readMemory(os.Getpid())
	if err != nil || m.RSS == 0 {
		t.Fatalf("readMemory(self) = %+v, %v", m, err)
	}
	if _, err := readCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}

func TestParseMachineBusy(t *testing.T) {
	tests := []struct {
		text string
		want time.Duration
		err  bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"cpu  100 1 50 9999 7 2 3 4 0 0\ncpu0 1 2 3\n", 160 * 10 * time.Millisecond, false},
		{"cpu  100 0 50 9999 7 0 0\n", 0, true},
		{"cpu0 100 0 50 9999 7 0 0 0\n", 0, true},
		{"cpu  x 0 50 9999 7 0 0 0\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseMachineBusy([]byte(tt.text))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseMachineBusy(%q) = %v, %v; want %v, error %v", tt.text, got, err, tt.want, tt.err)
		}
	}
	u := cpuUse{Wall: time.Second, Others: 500 * time.Millisecond, Known: true}
	if got := u.OthersShare(2); got != 0.25 {
		t.Errorf("OthersShare = %v, want 0.25", got)
	}
}
