// Command soak runs beacon under DNS load, registration churn and
// flapping health checks for a bounded time, then reports whether every
// answer was right and whether memory and goroutines stayed flat.
//
//	go run ./soak [-duration 5m] [-dns-qps 2000] [-churn-rate 50] ...    (in testdata/harness)
//
// By default it builds cmd/beacon and starts it on free loopback ports
// and a temporary data dir; -addr and -dns-addr point it at a running
// beacon instead. It exits 1 if any DNS query failed, any API call
// failed, or the catalog differs from the acknowledged writes.
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

// config is what one soak run does; parseFlags documents the defaults.
type config struct {
	Duration   time.Duration
	Warmup     time.Duration
	Beacon     string
	HTTPAddr   string
	DNSAddr    string
	PID        int
	DataDir    string
	Keep       bool
	Domain     string
	DNSWorkers int
	DNSRate    int
	ChurnRate  float64
	ChurnLive  int
	Backends   int
	FlapEvery  time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.Duration, "duration", 5*time.Minute, "how long the load runs")
	fs.DurationVar(&c.Warmup, "warmup", 10*time.Second, "load before the first resource sample (at most a quarter of -duration)")
	fs.StringVar(&c.Beacon, "beacon", "", "beacon `binary` to start; default: build cmd/beacon of this checkout")
	fs.StringVar(&c.HTTPAddr, "addr", "", "HTTP `host:port` of a running beacon to use instead of starting one")
	fs.StringVar(&c.DNSAddr, "dns-addr", "", "DNS `host:port` of the running beacon given by -addr")
	fs.IntVar(&c.PID, "pid", 0, "process ID of the running beacon, for its RSS and open files")
	fs.StringVar(&c.DataDir, "data-dir", "", "data dir of the beacon (started here: default a temporary dir), for the store size")
	fs.BoolVar(&c.Keep, "keep", false, "keep the temporary data dir and binary")
	fs.StringVar(&c.Domain, "domain", "service.local", "the zone beacon serves")
	fs.IntVar(&c.DNSWorkers, "dns-workers", 4, "goroutines sending DNS queries")
	fs.IntVar(&c.DNSRate, "dns-qps", 2000, "DNS queries per second, all workers together")
	fs.Float64Var(&c.ChurnRate, "churn-rate", 50, "registrations per second")
	fs.IntVar(&c.ChurnLive, "churn-live", 200, "churn instances kept registered; older ones are deregistered")
	fs.IntVar(&c.Backends, "backends", 4, "flapping HTTP backends, each with a 1s HTTP check")
	fs.DurationVar(&c.FlapEvery, "flap-every", 3*time.Second, "how often each backend turns healthy or unhealthy")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("soak takes no arguments, got %q", fs.Arg(0))
	}
	switch {
	case c.Duration < time.Second:
		return c, errors.New("-duration must be at least 1s")
	case c.DNSWorkers < 1 || c.DNSRate < c.DNSWorkers:
		return c, errors.New("-dns-workers must be at least 1 and -dns-qps at least -dns-workers")
	case c.ChurnRate <= 0 || c.ChurnRate > 10000 || c.ChurnLive < 0:
		return c, errors.New("-churn-rate must be in (0, 10000] and -churn-live not negative")
	case c.Backends < 0 || c.Backends > 1000:
		return c, errors.New("-backends must be 0 to 1000")
	case c.Backends > 0 && c.FlapEvery < time.Duration(c.Backends)*time.Millisecond:
		return c, errors.New("-flap-every is too short for that many -backends")
	case (c.HTTPAddr == "") != (c.DNSAddr == ""):
		return c, errors.New("-addr and -dns-addr go together")
	}
	return c, nil
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the command; it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := runSoak(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 1
	}
	rep.print(stdout)
	if len(rep.problems()) > 0 {
		return 1
	}
	return 0
}
