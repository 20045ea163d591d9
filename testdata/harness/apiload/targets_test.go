package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func throughputAt(clients, n int, d time.Duration) throughputRow {
	return throughputRow{Clients: clients, Res: loadResult{N: n, Elapsed: d}, Commits: float64(n)}
}

func grown(target, n int, rates ...float64) *growthResult {
	g := &growthResult{Target: target, Services: 10, Clients: 64, Res: loadResult{N: n}}
	upto := 0
	for _, r := range rates {
		upto += int(r)
		g.Res.Steps = append(g.Res.Steps, stepResult{Upto: upto, N: int(r), Elapsed: time.Second})
	}
	return g
}

func TestVerdicts(t *testing.T) {
	mb := uint64(1e6)
	tests := []struct {
		name string
		res  results
		want map[string]string // start of What -> Result
	}{
		{"nothing measured", results{}, map[string]string{
			"durable registrations/s, 1 client": verdictNotMeasured, "durable registrations/s, 64 clients": verdictNotMeasured,
			"registrations/s per step": verdictNotMeasured, "RSS": verdictNotMeasured, "1,000 blocked watchers": verdictNotMeasured,
		}},
		{"just below the targets", results{
			Throughput: []throughputRow{throughputAt(1, 999, time.Second), throughputAt(64, 4999, time.Second)},
			Growth:     func() *growthResult { g := grown(100_000, 100_000, 100, 100, 74); g.Mem.RSS = 250 * mb; return g }(),
			Watch:      []watchRound{{Endpoint: "/x", Watchers: 1000, Lat: summary{P99: 20*time.Millisecond + 1}, FromSend: summary{P99: time.Second}}},
		}, map[string]string{
			"durable registrations/s, 1 client": verdictFail, "durable registrations/s, 64 clients": verdictFail,
			"registrations/s per step": verdictFail, "RSS": verdictFail, "1,000 blocked watchers on `/x`": verdictFail + " (from sending: " + verdictFail + ")",
		}},
		{"at the targets", results{
			Throughput: []throughputRow{throughputAt(1, 1000, time.Second), throughputAt(64, 5000, time.Second)},
			Growth:     func() *growthResult { g := grown(100_000, 100_000, 100, 100, 75); g.Mem.RSS = 249 * mb; return g }(),
			Watch:      []watchRound{{Endpoint: "/x", Watchers: 1000, Lat: summary{P99: 20 * time.Millisecond}, FromSend: summary{P99: 21 * time.Millisecond}}},
		}, map[string]string{
			"durable registrations/s, 1 client": verdictPass, "durable registrations/s, 64 clients": verdictPass,
			"registrations/s per step": verdictPass, "RSS": verdictPass, "1,000 blocked watchers on `/x`": verdictPass + " (from sending: " + verdictFail + ")",
		}},
		{"smaller runs cannot pass", results{
			Growth: func() *growthResult { g := grown(20_000, 20_000, 100, 100); g.Mem.RSS = mb; return g }(),
			Watch:  []watchRound{{Endpoint: "/x", Watchers: 200, Lat: summary{P99: time.Millisecond}}},
		}, map[string]string{"registrations/s per step": verdictFail, "RSS": verdictFail, "200 blocked watchers": verdictFail + " (from sending: " + verdictFail + ")"}},
		{"incomplete growth", results{
			Growth: func() *growthResult { g := grown(100_000, 30_000, 100, 100, 100); g.Mem.RSS = mb; return g }(),
		}, map[string]string{"registrations/s per step": verdictFail, "RSS": verdictFail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := tt.res.verdicts()
			for what, want := range tt.want {
				found := false
				for _, v := range vs {
					if strings.HasPrefix(v.What, what) {
						found = true
						if v.Result != want {
							t.Errorf("%s: %s (%s), want %s", v.What, v.Result, v.Got, want)
						}
					}
				}
				if !found {
					t.Errorf("no verdict for %q", what)
				}
			}
		})
	}
}

func TestFlat(t *testing.T) {
	tests := []struct {
		rates []float64
		cpus  []time.Duration // per step (of 1 s, rate registrations)
		flat  bool
		ratio float64
	}{
		{[]float64{100, 100}, nil, true, 1},
		{[]float64{100, 90, 80, 100, 95}, nil, true, 0.95},
		{[]float64{100, 100, 100, 100, 50}, nil, false, 0.5},
		{[]float64{100}, nil, false, 0},
		{[]float64{100, 100, 100}, []time.Duration{10 * time.Millisecond, 11 * time.Millisecond, 12 * time.Millisecond}, true, 1},
		{[]float64{100, 100, 100}, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 13 * time.Millisecond}, false, 1},
		{[]float64{100, 100, 100}, []time.Duration{10 * time.Millisecond, 0, 10 * time.Millisecond}, true, 1}, // unknown: rates only
	}
	for _, tt := range tests {
		g := grown(1, 1, tt.rates...)
		for i, c := range tt.cpus {
			g.Res.Steps[i].CPU = c
		}
		flat, ratio := g.Flat()
		if flat != tt.flat || ratio != tt.ratio {
			t.Errorf("Flat(%v, %v) = %v, %v; want %v, %v", tt.rates, tt.cpus, flat, ratio, tt.flat, tt.ratio)
		}
	}
}

func TestStepCPU(t *testing.T) {
	s := time.Second
	tests := []struct {
		name  string
		steps int
		at    []time.Duration
		end   time.Duration
		want  []time.Duration
	}{
		{"all read", 3, []time.Duration{11 * s, 13 * s, 16 * s}, 17 * s, []time.Duration{s, 2 * s, 3 * s}},
		{"last step partial", 3, []time.Duration{11 * s, 13 * s, 0}, 17 * s, []time.Duration{s, 2 * s, 4 * s}},
		{"reading missing", 3, []time.Duration{11 * s, 0, 16 * s}, 17 * s, []time.Duration{s, 0, 0}},
	}
	for _, tt := range tests {
		steps := make([]stepResult, tt.steps)
		stepCPU(steps, 10*s, tt.at, tt.end)
		for i, st := range steps {
			if st.CPU != tt.want[i] {
				t.Errorf("%s: step %d CPU = %v, want %v", tt.name, i, st.CPU, tt.want[i])
			}
		}
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999.4: "999", 999.5: "1,000", 1234567: "1,234,567", -4500: "-4,500", 100000: "100,000"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{
		150 * time.Microsecond: "0.15 ms", 12340 * time.Microsecond: "12.3 ms", 580 * time.Millisecond: "580 ms",
	} {
		if got := ms(in); got != want {
			t.Errorf("ms(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestReportTables(t *testing.T) {
	res := &results{
		Throughput: []throughputRow{throughputAt(1, 1000, time.Second)},
		Growth:     grown(100_000, 100_000, 100, 100),
		Watch:      []watchRound{{Endpoint: "/v1/catalog/services", Catalog: "small", Watchers: 1000}},
		Floor:      []watchRound{{Endpoint: "/v1/health/service/NAME", Catalog: floorLabel, Watchers: 1000}},
		Fsync:      &fsyncResult{N: 200},
	}
	var b bytes.Buffer
	writeReport(&b, res, config{duration: time.Second, maxRegs: 10, watchers: 1000})
	out := b.String()
	for _, want := range []string{
		"| measure | beacon | target | result |",
		"| 1 | 1,000 | 1,000 | 1,000 | 1.000 | 1.0 |",
		"| 0–100 | 100 |", "| 100–200 | 100 |",
		"| small | `/v1/catalog/services` |",
		"| " + floorLabel + " | `/v1/health/service/NAME` |",
		"| the same on `/v1/health/service/NAME`, " + floorLabel,
		"fsync probe",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Every table row has as many cells as its header.
	cells := 0
	for _, line := range strings.Split(out, "\n") {
		switch {
		case !strings.HasPrefix(line, "|"):
			cells = 0
		case cells == 0:
			cells = strings.Count(line, "|")
		case strings.Count(line, "|")-strings.Count(line, "`|`") != cells:
			t.Errorf("row %q has %d cells, header %d", line, strings.Count(line, "|"), cells)
		}
	}
}
