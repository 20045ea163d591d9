package main

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// lateness records how late each run started: first runs of checks
// (planned when the check was registered) apart from later, periodic
// runs, and periodic runs before the steady-state window apart from those
// in it. Runs are few enough (about 1,000 a second) to keep them all and
// take exact percentiles.
type lateness struct {
	mu       sync.Mutex
	steady   bool
	first    []time.Duration
	periodic []time.Duration // before the steady-state window
	inWindow []time.Duration
}

func (l *lateness) observe(first bool, d time.Duration) {
	l.mu.Lock()
	switch {
	case first:
		l.first = append(l.first, d)
	case l.steady:
		l.inWindow = append(l.inWindow, d)
	default:
		l.periodic = append(l.periodic, d)
	}
	l.mu.Unlock()
}

// startSteady begins the steady-state window.
func (l *lateness) startSteady() {
	l.mu.Lock()
	l.steady = true
	l.mu.Unlock()
}

func (l *lateness) steadyRuns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.inWindow)
}

type quantiles struct {
	p50, p99, max time.Duration
	n             int
}

func (q quantiles) String() string {
	return fmt.Sprintf("p50 %s  p99 %s  max %s  (%d runs)", round(q.p50), round(q.p99), round(q.max), q.n)
}

// of returns p50, p99 and max of the given samples together.
func (l *lateness) of(sets ...*[]time.Duration) quantiles {
	l.mu.Lock()
	var all []time.Duration
	for _, set := range sets {
		all = append(all, *set...)
	}
	l.mu.Unlock()
	if len(all) == 0 {
		return quantiles{}
	}
	slices.Sort(all)
	at := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
	return quantiles{at(0.50), at(0.99), all[len(all)-1], len(all)}
}

// cpuSelf returns this process's user+system CPU seconds (getrusage).
func cpuSelf() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// memory returns this process's resident memory and its peak, in bytes,
// or zeros when they cannot be read.
func memory() (rss, peak int64) {
	m, err := stats.Host.Memory(os.Getpid())
	if err != nil {
		return 0, 0
	}
	return int64(m.RSS), int64(m.Peak)
}
