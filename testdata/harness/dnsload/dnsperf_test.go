package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseDNSPerf(t *testing.T) {
	tests := []struct {
		file                  string
		sent, completed, lost int
		qps                   float64
		avg, max              time.Duration
		rcodes                map[string]int
		response              int
		answered, timedOut    int // -v lines
	}{
		{"dnsperf-udp.txt", 61370, 61370, 0, 30610.784154, 5802 * time.Microsecond, 159610 * time.Microsecond,
			map[string]int{"NOERROR": 61370}, 292, 0, 0},
		// The connection statistics that follow must not replace the
		// query latency.
		{"dnsperf-tcp.txt", 28145, 28145, 0, 13714.670531, 14127 * time.Microsecond, 221767 * time.Microsecond,
			map[string]int{"NOERROR": 28145}, 292, 0, 0},
		// -v, with mixed rcodes and queries lost when the server was killed.
		{"dnsperf-lossy.txt", 50, 30, 20, 9.999440, 1971 * time.Microsecond, 36794 * time.Microsecond,
			map[string]int{"NOERROR": 10, "NXDOMAIN": 10, "REFUSED": 10}, 79, 30, 20},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := parseDNSPerf(f)
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != tc.sent || res.Completed != tc.completed || res.Lost != tc.lost {
				t.Errorf("sent/completed/lost %d/%d/%d, want %d/%d/%d", res.Sent, res.Completed, res.Lost, tc.sent, tc.completed, tc.lost)
			}
			if res.QPS != tc.qps {
				t.Errorf("q/s %v, want %v", res.QPS, tc.qps)
			}
			if res.AvgLatency != tc.avg || res.MaxLatency != tc.max {
				t.Errorf("avg/max latency %v/%v, want %v/%v", res.AvgLatency, res.MaxLatency, tc.avg, tc.max)
			}
			if len(res.Rcodes) != len(tc.rcodes) {
				t.Errorf("rcodes %v, want %v", res.Rcodes, tc.rcodes)
			}
			for rc, n := range tc.rcodes {
				if res.Rcodes[rc] != n {
					t.Errorf("rcodes %v, want %v", res.Rcodes, tc.rcodes)
				}
			}
			if res.ResponseSize != tc.response {
				t.Errorf("response size %d, want %d", res.ResponseSize, tc.response)
			}
			if len(res.Latencies) != tc.answered || res.TimedOut != tc.timedOut {
				t.Errorf("-v lines: %d answered, %d timed out; want %d, %d", len(res.Latencies), res.TimedOut, tc.answered, tc.timedOut)
			}
		})
	}
}

func TestParseDNSPerfRejects(t *testing.T) {
	tests := map[string]string{
		"empty":            "",
		"no statistics":    "DNS Performance Testing Tool\n[Fatal] unable to open file\n",
		"bad number":       "  Queries sent:         many\n",
		"no rate":          "  Queries sent: 1\n  Queries completed: 1 (100.00%)\n  Queries lost: 0 (0.00%)\n  Average Latency (s):  0.1 (min 0.1, max 0.1)\n",
		"bad rcode counts": "  Queries sent: 1\n  Response codes:       NOERROR\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if res, err := parseDNSPerf(strings.NewReader(in)); err == nil {
				t.Errorf("parsed %+v, want an error", res)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Microsecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Microsecond},
		{99, 99 * time.Microsecond},
		{100, 100 * time.Microsecond},
		{0.1, time.Microsecond},
	}
	for _, tc := range tests {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
	if ds[0] != 100*time.Microsecond {
		t.Error("percentile sorted its argument in place")
	}
}

func TestPerfArgs(t *testing.T) {
	a := perfArgs{Server: "127.0.0.1", Port: 5300, File: "q.txt", TCP: true, Clients: 20, Queries: 200,
		Duration: 10 * time.Second, Timeout: 1500 * time.Millisecond, MaxQPS: 5000, Verbose: true}
	got := strings.Join(a.argv(), " ")
	want := "-s 127.0.0.1 -p 5300 -d q.txt -c 20 -q 200 -l 10 -t 1.5 -m tcp -Q 5000 -v"
	if got != want {
		t.Errorf("argv %q, want %q", got, want)
	}
}

// FuzzParseDNSPerf feeds arbitrary reports to the parser: it must not
// panic, and what it accepts must be self-consistent.
func FuzzParseDNSPerf(f *testing.F) {
	for _, name := range []string{"dnsperf-udp.txt", "dnsperf-tcp.txt", "dnsperf-lossy.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, report string) {
		res, err := parseDNSPerf(strings.NewReader(report))
		if err != nil {
			return
		}
		if lines := strings.Count(report, ">"); len(res.Latencies)+res.TimedOut > lines {
			t.Errorf("%d latencies and %d timeouts from %d '>' characters", len(res.Latencies), res.TimedOut, lines)
		}
		for rc, n := range res.Rcodes {
			if rc == "" {
				t.Errorf("empty rcode name with count %d", n)
			}
		}
	})
}
