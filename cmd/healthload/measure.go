package main

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// lateness records how late each run started, in two phases: before
// every instance was passing (registration burst) and after (steady
// state). Runs are few enough (about 1,000 a second) to keep them all and
// take exact percentiles.
type lateness struct {
	mu     sync.Mutex
	steady bool
	burst  []time.Duration
	after  []time.Duration
}

func (l *lateness) observe(d time.Duration) {
	l.mu.Lock()
	if l.steady {
		l.after = append(l.after, d)
	} else {
		l.burst = append(l.burst, d)
	}
	l.mu.Unlock()
}

// startSteady begins the steady-state phase and returns how many runs the
// burst phase saw.
func (l *lateness) startSteady() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steady = true
	return len(l.burst)
}

func (l *lateness) steadyRuns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.after)
}

// percentiles returns p50, p99 and max of the chosen phase (or both).
func (l *lateness) percentiles(burst, after bool) (p50, p99, maximum time.Duration, n int) {
	l.mu.Lock()
	var all []time.Duration
	if burst {
		all = append(all, l.burst...)
	}
	if after {
		all = append(all, l.after...)
	}
	l.mu.Unlock()
	if len(all) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(all)
	at := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
	return at(0.50), at(0.99), all[len(all)-1], len(all)
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

// memory returns VmRSS and VmHWM (peak RSS) in bytes from
// /proc/self/status.
func memory() (rss, peak int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}
