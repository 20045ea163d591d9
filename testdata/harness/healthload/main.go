// Command healthload measures the health scheduler at scale: it registers
// thousands of instances with HTTP checks against loopback targets in a
// real store, runs the real scheduler for a bounded time, and reports
// throughput, schedule lateness, CPU, memory and time to all passing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-dns/beacon/health"
	"github.com/beacon-dns/beacon/store"
)

type options struct {
	instances   int
	interval    time.Duration
	duration    time.Duration
	warmup      time.Duration
	targets     int
	inproc      bool
	workers     int
	concurrency int
	dir         string
	cpuprofile  string
	memprofile  string
}

func main() {
	var o options
	flag.IntVar(&o.instances, "instances", 10000, "instances to register, each with one HTTP check")
	flag.DurationVar(&o.interval, "interval", 10*time.Second, "check interval")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long to run, from the first registration")
	flag.DurationVar(&o.warmup, "warmup", 0, "start of the steady-state window after the first registration; default 1.5 intervals, and never before all are passing")
	flag.IntVar(&o.targets, "targets", 4, "loopback HTTP listeners serving the instances' health paths")
	flag.BoolVar(&o.inproc, "inproc", false, "serve the targets in this process; CPU and memory figures then include them")
	flag.IntVar(&o.workers, "workers", 0, "scheduler workers; 0 for the default")
	flag.IntVar(&o.concurrency, "register-concurrency", 256, "concurrent durable registrations")
	flag.StringVar(&o.dir, "dir", "", "data directory; default a new temporary one, removed at the end")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the steady-state window to this file")
	flag.StringVar(&o.memprofile, "memprofile", "", "write a heap profile at the end of the run to this file")
	serve := flag.Int("serve-targets", 0, "internal: serve this many targets, print their addresses, exit when stdin closes")
	flag.Parse()
	if *serve > 0 {
		if err := serveTargets(*serve); err != nil {
			fmt.Fprintln(os.Stderr, "healthload targets:", err)
			os.Exit(1)
		}
		return
	}
	if o.warmup == 0 {
		o.warmup = o.interval * 3 / 2
	}
	ok, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthload:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// countingStore counts the scheduler's writes, to show that steady
// checks do not write.
type countingStore struct {
	*store.Store
	writes atomic.Int64
}

func (c *countingStore) SetCheckStatus(id string, s store.Status, out string) error {
	c.writes.Add(1)
	return c.Store.SetCheckStatus(id, s, out)
}

// run does the whole measurement, prints the report and tells whether
// every target was met.
func run(o options) (bool, error) {
	r, err := measure(o)
	if err != nil {
		return false, err
	}
	return r.print(os.Stdout), nil
}

// measure does the whole measurement.
func measure(o options) (*report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+time.Minute)
	defer cancel()
	r := &report{opts: o, cmd: strings.Join(os.Args, " "), loadStart: loadAverage()}

	addrs, targetCPU, stopTargets, err := startTargets(ctx, o)
	if err != nil {
		return nil, err
	}
	var stopTargetsOnce sync.Once
	targetsDown := func() { stopTargetsOnce.Do(func() { r.conns = stopTargets() }) }
	defer targetsDown()

	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "healthload-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	st, err := store.Open(store.Options{Dir: dir, NodeName: "healthload", Logger: logger})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	cs := &countingStore{Store: st}

	lat := &lateness{first: make([]time.Duration, 0, o.instances)}
	reg := prometheus.NewRegistry()
	sched := health.New(health.Config{Workers: o.workers, Logger: logger, Registerer: reg,
		ObserveLateness: func(_ store.Kind, first bool, d time.Duration) { lat.observe(first, max(d, 0)) }}, cs)
	runCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(runCtx) }()
	var stopSchedOnce sync.Once
	schedDown := func() { stopSchedOnce.Do(func() { stopSched(); <-schedDone }) }
	defer schedDown()
	time.Sleep(50 * time.Millisecond) // let Run subscribe before the first registration

	begin := time.Now()
	if err := registerAll(st, o, addrs); err != nil {
		return nil, err
	}
	r.registered = time.Since(begin)
	if r.allPassing, err = waitAllPassing(ctx, st, o.instances, begin, o.duration); err != nil {
		return nil, err
	}

	// Steady state: from the warmup (and all passing) to the end.
	time.Sleep(time.Until(begin.Add(max(o.warmup, r.allPassing))))
	lat.startSteady()
	w0, cpu0, tcpu0, t0 := cs.writes.Load(), cpuSelf(), targetCPU(), time.Now()
	stopProfile, err := startProfile(o.cpuprofile)
	if err != nil {
		return nil, err
	}
	var samples sampler
	for time.Now().Before(begin.Add(o.duration)) {
		samples.take()
		time.Sleep(time.Second)
	}
	samples.take()
	stopProfile()
	if err := writeHeapProfile(o.memprofile); err != nil {
		return nil, err
	}
	r.window = time.Since(t0)
	r.cpu = (cpuSelf() - cpu0) / r.window.Seconds()
	if tcpu0 >= 0 {
		r.targetCPU = (targetCPU() - tcpu0) / r.window.Seconds()
	} else {
		r.targetCPU = -1
	}
	r.steadyWrites = cs.writes.Load() - w0
	r.steadyRuns = lat.steadyRuns()
	r.passingAtEnd = countPassing(st)
	r.samples = samples
	r.lat = lat
	r.durations = durationQuantiles(reg)
	schedDown()
	targetsDown()
	return r, nil
}

// startProfile starts a CPU profile into path, if set.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeHeapProfile writes a heap profile to path, if set.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

// startTargets serves the targets in a child process (default) or in this
// one. targetCPU returns the child's CPU seconds, or -1 when in-process.
func startTargets(ctx context.Context, o options) (addrs []string, targetCPU func() float64, stop func() int64, err error) {
	if o.inproc {
		addrs, stop, err := listenTargets(o.targets)
		return addrs, func() float64 { return -1 }, func() int64 { stop(); return accepted.Load() }, err
	}
	p, err := startTargetProcess(ctx, o.targets)
	if err != nil {
		return nil, nil, nil, err
	}
	return p.addrs, func() float64 {
		s, err := p.cpuSeconds()
		if err != nil {
			return -1
		}
		return s
	}, p.stop, nil
}

// registerAll registers the instances concurrently, each durably, spread
// over 100 services and the targets. Nothing connects to the instances'
// own addresses (all in 127.0.0.0/8).
func registerAll(st *store.Store, o options, addrs []string) error {
	next := make(chan int)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for w := 0; w < o.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				addr := addrs[i%len(addrs)]
				// Each instance has an address of its own, as instances on
				// separate hosts do; only the check URLs point at the
				// targets. (Thousands on one address would measure the
				// store's per-address index instead of the checks.)
				_, err := st.Register(store.Registration{
					ID: fmt.Sprintf("web-%05d", i), Name: fmt.Sprintf("svc-%02d", i%100),
					Address: fmt.Sprintf("127.%d.%d.%d", 1+i>>16, i>>8&255, i&255), Port: 8080,
					Checks: []store.CheckSpec{{HTTP: fmt.Sprintf("http://%s/health/%d", addr, i), Interval: o.interval}},
				})
				if err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	for i := 0; i < o.instances; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if p := failed.Load(); p != nil {
		return fmt.Errorf("register: %w", *p)
	}
	return nil
}

func countPassing(st *store.Store) int {
	n := 0
	for _, svc := range st.Snapshot().Services() {
		for _, in := range svc.Instances {
			if in.Health == store.Passing {
				n++
			}
		}
	}
	return n
}

// waitAllPassing polls the snapshot until every instance passes and
// returns the time since begin.
func waitAllPassing(ctx context.Context, st *store.Store, n int, begin time.Time, limit time.Duration) (time.Duration, error) {
	for {
		if countPassing(st) >= n {
			return time.Since(begin), nil
		}
		if time.Since(begin) > limit {
			return 0, fmt.Errorf("only %d of %d instances passing after %s", countPassing(st), n, limit)
		}
		select {
		case <-ctx.Done():
			return 0, errors.New("stopped before all instances were passing")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
