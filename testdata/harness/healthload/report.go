package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// sampler keeps the largest and last figures of RSS and goroutines.
type sampler struct {
	rss, maxRSS, peakRSS int64
	goroutines, maxGo    int
}

func (s *sampler) take() {
	rss, peak := memory()
	s.rss, s.peakRSS = rss, peak
	s.maxRSS = max(s.maxRSS, rss)
	s.goroutines = runtime.NumGoroutine()
	s.maxGo = max(s.maxGo, s.goroutines)
}

type report struct {
	opts         options
	cmd          string
	registered   time.Duration
	allPassing   time.Duration
	window       time.Duration
	steadyRuns   int
	steadyWrites int64
	cpu          float64
	targetCPU    float64
	passingAtEnd int
	samples      sampler
	lat          *lateness
	durations    string
	conns        int64 // connections the targets accepted over the run
	loadStart    string
}

// loadAverage returns the 1-minute load average.
func loadAverage() string {
	la, err := stats.Host.LoadAverage()
	if err != nil {
		return "unknown"
	}
	return strconv.FormatFloat(la, 'f', 2, 64)
}

// The health scheduler's performance targets (README "Performance").
const (
	maxP99      = 250 * time.Millisecond
	maxCPU      = 0.2
	maxRSS      = 150 << 20
	maxPassing  = 15 * time.Second
	bytesPerMiB = 1 << 20
)

// print writes the report and returns whether every target was met.
func (r *report) print(w io.Writer) bool {
	o := r.opts
	where := "in a separate process (not counted below)"
	if o.inproc {
		where = "in this process (counted below)"
	}
	fmt.Fprintf(w, "command: %s\n", r.cmd)
	fmt.Fprintf(w, "setup: %d instances, HTTP check every %s each, %d loopback targets %s, %s run\n",
		o.instances, o.interval, o.targets, where, o.duration)
	fmt.Fprintf(w, "machine: %d CPUs, load average %s at start, %s at end (other processes compete for the CPUs)\n",
		runtime.NumCPU(), r.loadStart, loadAverage())
	fmt.Fprintf(w, "registration: all %d durable in %s\n", o.instances, r.registered.Round(time.Millisecond))
	fmt.Fprintf(w, "all passing:  %s after the first registration\n", r.allPassing.Round(time.Millisecond))
	fmt.Fprintf(w, "steady state (last %s):\n", r.window.Round(time.Second))
	fmt.Fprintf(w, "  checks/s          %.1f (expected %.1f)\n", float64(r.steadyRuns)/r.window.Seconds(), float64(o.instances)/o.interval.Seconds())
	fmt.Fprintf(w, "  lateness          %s\n", r.lat.of(&r.lat.inWindow))
	fmt.Fprintf(w, "  check duration    %s (whole run, from the histogram's buckets)\n", r.durations)
	what := "scheduler, store, HTTP client"
	if o.inproc {
		what = "the whole process: scheduler, store, HTTP client and targets"
	}
	fmt.Fprintf(w, "  CPU               %.3f cores (%s)\n", r.cpu, what)
	if r.targetCPU >= 0 {
		fmt.Fprintf(w, "  CPU of targets    %.3f cores (separate process)\n", r.targetCPU)
	}
	fmt.Fprintf(w, "  RSS               %.1f MiB now, %.1f MiB peak of the whole run\n", float64(r.samples.rss)/bytesPerMiB, float64(r.samples.peakRSS)/bytesPerMiB)
	fmt.Fprintf(w, "  goroutines        %d now, %d at most\n", r.samples.goroutines, r.samples.maxGo)
	fmt.Fprintf(w, "  store writes      %d\n", r.steadyWrites)
	fmt.Fprintf(w, "  passing at end    %d of %d\n", r.passingAtEnd, o.instances)
	periodic, first := r.lat.of(&r.lat.periodic, &r.lat.inWindow), r.lat.of(&r.lat.first)
	fmt.Fprintf(w, "whole run:\n")
	fmt.Fprintf(w, "  lateness          %s, every run after each check's first\n", periodic)
	fmt.Fprintf(w, "  first-run delay   %s, from registration to the first check\n", first)
	fmt.Fprintf(w, "  connections       %d accepted by the targets\n", r.conns)
	ok := true
	verdict := func(name string, met bool, got, want string) {
		mark := "ok  "
		if !met {
			mark, ok = "MISS", false
		}
		fmt.Fprintf(w, "%s %-30s %s (target %s)\n", mark, name, got, want)
	}
	fmt.Fprintln(w, "targets:")
	verdict("p99 lateness (whole run)", periodic.p99 < maxP99, round(periodic.p99).String(), "< "+maxP99.String())
	verdict("CPU", r.cpu <= maxCPU, fmt.Sprintf("%.3f cores", r.cpu), fmt.Sprintf("≤ %.1f", maxCPU))
	verdict("peak RSS", r.samples.peakRSS < maxRSS, fmt.Sprintf("%.1f MiB", float64(r.samples.peakRSS)/bytesPerMiB), "< 150 MiB")
	verdict("all passing", r.allPassing <= maxPassing, r.allPassing.Round(time.Millisecond).String(), "≤ 15s")
	verdict("still passing at end", r.passingAtEnd == o.instances, fmt.Sprint(r.passingAtEnd), fmt.Sprint(o.instances))
	return ok
}

// durationQuantiles reads p50 and p99 of beacon_health_check_duration_seconds
// as the upper bounds of the buckets they fall in.
func durationQuantiles(g prometheus.Gatherer) string {
	mfs, err := g.Gather()
	if err != nil {
		return err.Error()
	}
	for _, mf := range mfs {
		if mf.GetName() != "beacon_health_check_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h.GetSampleCount() == 0 {
				continue
			}
			at := func(q float64) string {
				want := uint64(q * float64(h.GetSampleCount()))
				for _, b := range h.GetBucket() {
					if b.GetCumulativeCount() >= want {
						return "≤ " + round(time.Duration(b.GetUpperBound()*float64(time.Second))).String()
					}
				}
				return "> last bucket"
			}
			return fmt.Sprintf("p50 %s  p99 %s", at(0.5), at(0.99))
		}
	}
	return "none"
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
