// Command apiload benchmarks beacon's HTTP API against its performance
// targets: durable registrations/s at 1, 8 and 64 clients, cost per
// registration as the catalog grows to 100,000 instances, RSS at that
// size, and the time for 1,000 blocked watchers to hear of one change.
//
// It builds and starts the real beacon binary on a temporary data dir
// with free loopback ports (or uses -addr), bounds every phase in time and
// count, stops every process it started, and prints markdown tables. With
// -floor (the default) the watcher rounds are also run against a minimal
// net/http server, to show what of their latency is beacon's.
//
//	go run ./apiload [-phases 1,2,3] [-beacon PATH | -addr HOST:PORT [-pid PID]] [-out FILE]    (in testdata/harness)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// config holds the flags.
type config struct {
	beacon  string
	addr    string
	pid     int
	dir     string
	keep    bool
	phases  []int
	out     string
	timeout time.Duration

	clients  []int
	duration time.Duration
	maxRegs  int

	instances    int
	growServices int
	step         int
	growClients  int
	growTimeout  time.Duration

	watchers     int
	watchRounds  int
	settle       time.Duration
	watchTimeout time.Duration

	fsyncs int

	quiet     float64
	quietWait time.Duration
	maxOthers float64
	attempts  int

	floor      bool
	serveFloor string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("apiload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var phases, clients string
	fs.StringVar(&c.beacon, "beacon", "", "beacon binary to run (default: build cmd/beacon of this checkout)")
	fs.StringVar(&c.addr, "addr", "", "HTTP address of a running beacon to load instead of starting one (it is not emptied: phase 2 grows from what it holds)")
	fs.IntVar(&c.pid, "pid", 0, "PID of the -addr beacon, for RSS and CPU figures")
	fs.StringVar(&c.dir, "dir", os.TempDir(), "parent of the temporary data dirs; put it on the disk beacon would use")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary data dirs")
	fs.StringVar(&phases, "phases", "1,2,3", "phases to run: 1 throughput, 2 growth and RSS (then watchers with it loaded, if 3 is on), 3 watchers")
	fs.StringVar(&c.out, "out", "", "also write the markdown report to this file")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	fs.StringVar(&clients, "clients", "1,8,64", "phase 1: concurrent clients, one level after another")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "phase 1: measured time per level")
	fs.IntVar(&c.maxRegs, "max-regs", 200_000, "phase 1: at most this many registrations per level")
	fs.IntVar(&c.instances, "instances", targetInstances, "phase 2: instances to register")
	fs.IntVar(&c.growServices, "services", 1000, "phase 2: services the instances are spread over")
	fs.IntVar(&c.step, "step", 10_000, "phase 2: report registrations/s per this many instances")
	fs.IntVar(&c.growClients, "grow-clients", manyClients, "phase 2: concurrent clients")
	fs.DurationVar(&c.growTimeout, "grow-timeout", 10*time.Minute, "phase 2: bound on registering the instances")
	fs.IntVar(&c.watchers, "watchers", 1000, "phase 3: blocked watchers per round")
	fs.IntVar(&c.watchRounds, "watch-rounds", 5, "phase 3: rounds per measurement; percentiles are over the watchers of all rounds")
	fs.DurationVar(&c.settle, "settle", 500*time.Millisecond, "phase 3: wait after the last watcher's request was sent before the registration")
	fs.DurationVar(&c.watchTimeout, "watch-timeout", 30*time.Second, "phase 3: bound on sending the watchers, and on their answers")
	fs.IntVar(&c.fsyncs, "fsyncs", 200, "fsync probe: write+fdatasync rounds")
	fs.Float64Var(&c.quiet, "quiet", 0.15, "before each measurement, wait until other processes use less than this share of the machine's CPU (0 to not wait)")
	fs.DurationVar(&c.quietWait, "quiet-wait", time.Minute, "bound on each wait for -quiet")
	fs.Float64Var(&c.maxOthers, "max-others", 0.25, "measure again when other processes used more than this share of the machine's CPU during a measurement")
	fs.BoolVar(&c.floor, "floor", true, "phase 3: also measure a minimal net/http server that encodes each answer once per change (this program with -serve-floor), for reference")
	fs.StringVar(&c.serveFloor, "serve-floor", "", "run only the reference server of -floor on this address (used by -floor)")
	fs.IntVar(&c.attempts, "attempts", 3, "at most this many attempts per measurement (see -max-others); the least disturbed is kept")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.phases, err = intList(phases, "-phases", 1, 3); err != nil {
		return c, err
	}
	if c.clients, err = intList(clients, "-clients", 1, 4096); err != nil {
		return c, err
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"-max-regs", c.maxRegs}, {"-instances", c.instances}, {"-services", c.growServices}, {"-step", c.step},
		{"-grow-clients", c.growClients}, {"-watchers", c.watchers}, {"-watch-rounds", c.watchRounds}, {"-fsyncs", c.fsyncs}, {"-attempts", c.attempts}} {
		if v.n < 1 {
			return c, fmt.Errorf("%s must be at least 1, not %d", v.name, v.n)
		}
	}
	if c.beacon != "" && c.addr != "" {
		return c, errors.New("-beacon and -addr exclude each other")
	}
	if c.pid != 0 && c.addr == "" {
		return c, errors.New("-pid needs -addr")
	}
	return c, nil
}

// intList parses a comma-separated list of integers in [lo, hi].
func intList(s, flagName string, lo, hi int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%s: %q is not a number from %d to %d", flagName, f, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "apiload: %v\n", err)
		return 2
	}
	if cfg.serveFloor != "" {
		if err := serveFloor(cfg.serveFloor, stderr); err != nil {
			fmt.Fprintf(stderr, "apiload: %v\n", err)
			return 1
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	b := &bench{cfg: cfg, log: stderr, run: "al" + strconv.FormatInt(time.Now().Unix()%1e6, 36) + "-"}
	res, err := b.runAll(ctx)
	if cerr := b.cleanup(); err == nil {
		err = cerr
	}
	if res != nil {
		writeReport(stdout, res, cfg)
		if cfg.out != "" {
			if werr := writeFile(cfg.out, res, cfg); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "apiload: %v\n", err)
		return 1
	}
	return 0
}

func writeFile(path string, res *results, cfg config) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	writeReport(f, res, cfg)
	return f.Close()
}

// bench is one run: its work dir, the binary, and every beacon it started.
type bench struct {
	cfg     config
	log     io.Writer
	run     string // prefix of every ID and service name of this run
	work    string
	bin     string
	started []*server
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (b *bench) phase(n int) bool { return slices.Contains(b.cfg.phases, n) }

// runAll runs the chosen phases. It returns what was measured even when a
// phase fails, so that the report shows it.
func (b *bench) runAll(ctx context.Context) (*results, error) {
	cfg := b.cfg
	var err error
	if b.work, err = os.MkdirTemp(cfg.dir, "apiload-"); err != nil {
		return nil, err
	}
	lim, err := raiseNoFile(uint64(cfg.watchers + cfg.growClients + slices.Max(cfg.clients) + 256))
	if err != nil {
		return nil, err
	}
	b.logf("work dir %s; RLIMIT_NOFILE %d", b.work, lim)
	res := &results{}
	if err := b.waitQuiet(ctx, 0, "fsync probe"); err != nil {
		return nil, err
	}
	fs, err := probeFsync(b.work, cfg.fsyncs)
	if err != nil {
		return nil, fmt.Errorf("fsync probe: %w", err)
	}
	res.Fsync = &fs
	res.Env = describeEnvironment(b.work, &fs)
	b.logf("fsync probe: write+fdatasync p50 %v p99 %v", fs.Lat.P50, fs.Lat.P99)
	switch {
	case cfg.beacon != "":
		b.bin = cfg.beacon
	case cfg.addr == "":
		b.logf("building cmd/beacon")
		b.bin = filepath.Join(b.work, "beacon")
		if err = testkit.Build(ctx, b.bin, testkit.BuildOptions{}); err != nil {
			return res, err
		}
	}
	if b.phase(1) {
		if res.Throughput, err = b.throughput(ctx); err != nil {
			return res, err
		}
	}
	if b.phase(3) {
		if err := b.withServer(ctx, "watch", func(s *server) error {
			w, err := b.watchers(ctx, s, "w0-", b.catalogLabel("a handful of instances"))
			res.Watch = append(res.Watch, w...)
			return err
		}); err != nil {
			return res, err
		}
	}
	if b.phase(2) {
		if err := b.loaded(ctx, res); err != nil {
			return res, err
		}
	}
	if b.phase(3) && cfg.floor {
		s, err := startFloor(ctx)
		if err != nil {
			return res, fmt.Errorf("floor server: %w", err)
		}
		b.started = append(b.started, s)
		w, err := b.watchers(ctx, s, "f-", floorLabel)
		b.release(s)
		res.Floor = w
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func (b *bench) catalogLabel(fresh string) string {
	if b.cfg.addr != "" {
		return "running beacon at " + b.cfg.addr
	}
	return fresh
}

// withServer runs f on a fresh beacon (or the -addr one) and stops it.
func (b *bench) withServer(ctx context.Context, name string, f func(*server) error) error {
	s, err := b.server(ctx, name)
	if err != nil {
		return err
	}
	defer b.release(s)
	return f(s)
}

// server starts a fresh beacon, or returns the -addr one once it answers.
func (b *bench) server(ctx context.Context, name string) (*server, error) {
	if b.cfg.addr != "" {
		s := &server{Addr: b.cfg.addr, PID: b.cfg.pid}
		return s, waitReady(ctx, s)
	}
	s, err := startServer(ctx, b.bin, b.work, name)
	if err != nil {
		return nil, err
	}
	b.started = append(b.started, s)
	b.logf("started beacon pid %d on %s (%s)", s.PID, s.Addr, name)
	return s, nil
}

// release stops a beacon started here and deletes its data dir.
func (b *bench) release(s *server) {
	if s.proc == nil {
		return
	}
	if s.exited() {
		b.logf("beacon pid %d exited during the run; its last log lines:\n%s", s.PID, s.logTail())
	}
	if err := s.stop(); err != nil {
		b.logf("%v", err)
	}
	b.started = slices.DeleteFunc(b.started, func(x *server) bool { return x == s })
	if !b.cfg.keep {
		_ = os.RemoveAll(s.DataDir)
	}
}

// cleanup stops every beacon still running, by PID, and removes the work
// dir unless -keep.
func (b *bench) cleanup() error {
	var errs []error
	for _, s := range slices.Clone(b.started) {
		if err := s.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	b.started = nil
	if b.work != "" && !b.cfg.keep {
		if err := os.RemoveAll(b.work); err != nil {
			errs = append(errs, err)
		}
	} else if b.work != "" {
		b.logf("kept %s", filepath.Clean(b.work))
	}
	return errors.Join(errs...)
}
