package health

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-dns/beacon/store"
)

// lateness collects how late runs started, in milliseconds.
type lateness struct {
	mu sync.Mutex
	ms []float64
}

func (l *lateness) add(d time.Duration) {
	l.mu.Lock()
	l.ms = append(l.ms, float64(d)/float64(time.Millisecond))
	l.mu.Unlock()
}

func (l *lateness) quantile(q float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ms) == 0 {
		return -1
	}
	s := slices.Sorted(slices.Values(l.ms))
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// BenchmarkBlackHole runs 10,000 TCP checks at 1 s, with a 1 s timeout,
// against a black-holed port on loopback, plus one HTTP check at 1 s of
// an unrelated service against a healthy target, and reports how late
// that check's runs started (planned time to start, after a warm-up):
// p50, p99 and max in ms, beside the same check on an idle scheduler in
// the same run, and beside a bare timer that wakes once a second at the
// same time (timer-late-*: how late the machine itself runs a goroutine);
// hung-runs/s counts the black-holed runs. The target is
// lateness within 1 s. It takes about a minute per case;
// BEACON_BENCH_SECONDS sets the measured seconds (default 40):
//
//	go test -run '^$' -bench BlackHole -benchtime 1x ./health/
func BenchmarkBlackHole(b *testing.B) {
	seconds := 40
	if v := os.Getenv("BEACON_BENCH_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("BEACON_BENCH_SECONDS=%q: want a whole number of seconds", v)
		}
		seconds = n
	}
	cases := []struct {
		name    string
		hung    int
		workers int
	}{
		{"idle", 0, 0},
		{"hung=10000/workers=auto", 10000, 0},
		{"hung=10000/workers=128", 10000, 128},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				runBlackHole(b, tc.hung, tc.workers, time.Duration(seconds)*time.Second)
			}
		})
	}
}

func runBlackHole(b *testing.B, hung, workers int, measure time.Duration) {
	const warmUp = 5 * time.Second
	st := openStore(b, b.TempDir(), nil)
	good := newBackend(b, 200)
	var httpLate, tcpLate lateness
	var measuring atomic.Bool
	var tcpRuns atomic.Int64
	reg := prometheus.NewRegistry()
	s, stop := start(b, st, Config{Workers: workers, Registerer: reg, ObserveLateness: func(k store.Kind, first bool, late time.Duration) {
		if !measuring.Load() {
			return
		}
		switch {
		case k == store.KindHTTP && !first:
			httpLate.add(late)
		case k == store.KindTCP:
			if n := tcpRuns.Add(1); n%16 == 0 && !first {
				tcpLate.add(late)
			}
		}
	}})
	if hung > 0 {
		hole := blackHole(b)
		ids := make(chan int)
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for i := range ids {
					if _, err := st.Register(store.Registration{ID: fmt.Sprintf("hole-%d", i), Name: "blackhole", Address: "127.0.0.1",
						Checks: []store.CheckSpec{{TCP: hole, Interval: time.Second, Timeout: time.Second}}}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for i := range hung {
			ids <- i
		}
		close(ids)
		wg.Wait()
	}
	registerIn(b, st, "web", "web-1", store.CheckSpec{HTTP: good.URL, Interval: time.Second, Timeout: time.Second})
	time.Sleep(warmUp)
	// The peer: a goroutine that only wakes once a second, measured at the
	// same time, shows how late the machine itself lets a timer run.
	var timerLate lateness
	cpu0 := cpuTime()
	measuring.Store(true)
	begin := time.Now()
	for next := begin.Add(time.Second); next.Before(begin.Add(measure)); next = next.Add(time.Second) {
		time.Sleep(time.Until(next))
		timerLate.add(time.Since(next))
	}
	measuring.Store(false)
	took := time.Since(begin)
	cores := (cpuTime() - cpu0).Seconds() / took.Seconds()
	stop()
	if hung > 0 {
		// Every black-holed check that reported must have timed out.
		outputs := map[string]int{}
		for _, in := range st.Snapshot().Service("blackhole").Instances {
			out := in.Checks[0].Output
			if strings.HasSuffix(out, "timed out after 1s") {
				out = "timed out"
			}
			outputs[out]++
		}
		if len(outputs) > 2 || outputs["timed out"]+outputs[""] != hung {
			b.Errorf("black-holed checks reported %v: the black hole leaks", outputs)
		}
	}
	b.ReportMetric(httpLate.quantile(0.5), "late-p50-ms")
	b.ReportMetric(httpLate.quantile(0.99), "late-p99-ms")
	b.ReportMetric(httpLate.quantile(1), "late-max-ms")
	b.ReportMetric(float64(len(httpLate.ms)), "runs")
	b.ReportMetric(timerLate.quantile(0.5), "timer-late-p50-ms")
	b.ReportMetric(timerLate.quantile(1), "timer-late-max-ms")
	// On a loaded machine the healthy target itself can miss its 1 s.
	b.ReportMetric(metricValue(b, reg, "beacon_health_checks_total", map[string]string{"kind": "http", "status": "critical"}), "critical-runs")
	b.ReportMetric(float64(tcpRuns.Load())/took.Seconds(), "hung-runs/s")
	b.ReportMetric(tcpLate.quantile(0.5), "hung-late-p50-ms")
	b.ReportMetric(float64(s.limit), "workers")
	b.ReportMetric(cores, "cpu-cores")
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
