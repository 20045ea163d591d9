// Command dnsload measures beacon's DNS server against a reference miekg/dns
// server that only replays precomputed answers, and against NSD, each
// pinned to one CPU and driven by dnsperf from another, and checks that
// every server answers correctly before, during and after the load.
//
// Usage:
//
//	go run ./dnsload [flags]    (in testdata/harness)
//
// It prints a markdown table for README.md on stdout and progress on
// stderr, and exits 1 when any answer is wrong (or, with -strict, when
// beacon misses a Must target).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config holds the flags of a run.
type config struct {
	Beacon          string        // beacon binary; built from this module when empty
	Duration        time.Duration // each dnsperf run at full rate
	LatencyDuration time.Duration // each dnsperf run at half rate, for p99; 0 skips them
	LatencyQPS      int           // rate of those runs; 0 for half of each server's full rate
	Rounds          int           // full-rate runs per server and row; the best counts
	Timeout         time.Duration // dnsperf -t
	Clients         int           // dnsperf -c
	Outstanding     int           // dnsperf -q
	ServerCPU       int
	ClientCPU       int
	Nice            int // niceness of servers and dnsperf
	Services        int
	Instances       int
	NoNSD           bool
	PerfDir         string   // record a perf profile of each server under full-rate load here
	Keep            bool     // keep the work directory
	Strict          bool     // exit 1 when beacon misses a Must target
	args            []string // as given, for the report
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("dnsload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Beacon, "beacon", "", "beacon binary `path` (default: go build "+beaconPackage+")")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "length of each full-rate dnsperf run (dnsperf -l)")
	fs.DurationVar(&cfg.LatencyDuration, "latency-duration", 5*time.Second, "length of each half-rate run that measures p99 latency; 0 skips them")
	fs.IntVar(&cfg.LatencyQPS, "latency-qps", 0, "rate of the latency runs, the same for every server; 0 for half of each server's own full rate")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Second, "dnsperf -t: a query unanswered this long counts as lost (and frees its slot)")
	fs.IntVar(&cfg.Rounds, "rounds", 1, "full-rate runs per server and row, alternating servers; the best of them is reported")
	fs.IntVar(&cfg.Clients, "clients", 20, "dnsperf -c: simulated clients (UDP sockets or TCP connections)")
	fs.IntVar(&cfg.Outstanding, "outstanding", 200, "dnsperf -q: queries outstanding at once")
	fs.IntVar(&cfg.ServerCPU, "server-cpu", 0, "CPU every server is pinned to")
	fs.IntVar(&cfg.ClientCPU, "client-cpu", 1, "CPU dnsperf and this harness are pinned to")
	fs.IntVar(&cfg.Nice, "nice", -10, "niceness of the servers and dnsperf (through nice(1)), so that other work on a shared machine disturbs the measurement less; 0 leaves it alone")
	fs.IntVar(&cfg.Services, "services", 100, "services to register")
	fs.IntVar(&cfg.Instances, "instances", 3, "instances per service")
	fs.BoolVar(&cfg.NoNSD, "no-nsd", false, "leave NSD out even when it is installed")
	fs.StringVar(&cfg.PerfDir, "perf", "", "record `dir`/<server>-<query>-<transport>.data with perf(1) during each full-rate run (perf report -i FILE)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the work directory (logs, zone, query files) and print its path")
	fs.BoolVar(&cfg.Strict, "strict", false, "also exit 1 when beacon misses a Must target")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg.args = args
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("dnsload takes no arguments, got %q", fs.Arg(0))
	case cfg.Duration < time.Second:
		return nil, errors.New("-duration must be at least 1s")
	case cfg.Timeout < 100*time.Millisecond || cfg.Timeout > 10*time.Second:
		return nil, errors.New("-timeout must be 100ms to 10s")
	case cfg.Rounds < 1 || cfg.Rounds > 10:
		return nil, errors.New("-rounds must be 1 to 10")
	case cfg.Services < 1 || cfg.Services > 1000 || cfg.Instances < 1 || cfg.Instances > 20:
		return nil, errors.New("-services must be 1 to 1000 and -instances 1 to 20")
	case cfg.LatencyQPS < 0:
		return nil, errors.New("-latency-qps must not be negative")
	case cfg.Clients < 1 || cfg.Outstanding < 1:
		return nil, errors.New("-clients and -outstanding must be positive")
	case cfg.Nice < -20 || cfg.Nice > 19:
		return nil, errors.New("-nice must be -20 to 19")
	case cfg.ServerCPU == cfg.ClientCPU:
		return nil, errors.New("-server-cpu and -client-cpu must differ")
	}
	return cfg, nil
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // a wrong answer, a failed run or (with -strict) a missed target
	exitUsage = 2
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == referenceCommand {
		os.Exit(runReference(os.Args[2:]))
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dnsload:", err)
		}
		os.Exit(exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cfg, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run does the whole measurement and returns the exit code. Every process
// it starts is stopped before it returns, also on error or interrupt.
func run(ctx context.Context, cfg *config, stdout, stderr io.Writer) int {
	h, err := newHarness(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "dnsload:", err)
		return exitFail
	}
	defer h.close()
	rep, err := h.run(ctx)
	if rep != nil {
		rep.write(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "dnsload:", err)
		return exitFail
	}
	if cfg.Strict && len(rep.misses()) > 0 {
		return exitFail
	}
	return exitOK
}
