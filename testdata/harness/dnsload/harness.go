package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// Server names, as in the table.
const (
	nameBeacon    = "beacon"
	nameReference = "reference"
	nameNSD       = "NSD"
)

// target is one DNS server under test.
type target struct {
	name  string
	addr  string // 127.0.0.1:port
	port  int
	child *child
}

// harness holds the state of one run.
type harness struct {
	cfg     *config
	log     io.Writer
	dir     string
	ds      *dataset
	procs   procs
	dnsperf string
	queries map[string]string // kind → dnsperf input file
	targets []*target
	env     environment
}

func newHarness(cfg *config, log io.Writer) (*harness, error) {
	perf, err := dnsperfPath()
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "linux" {
		return nil, errors.New("dnsload pins processes to CPUs and runs on Linux only")
	}
	if err := checkTools(); err != nil {
		return nil, err
	}
	if n := runtime.NumCPU(); cfg.ServerCPU >= n || cfg.ClientCPU >= n {
		return nil, fmt.Errorf("this machine has CPUs 0-%d; choose -server-cpu and -client-cpu among them", n-1)
	}
	if err := pinSelf(cfg.ClientCPU); err != nil {
		return nil, err
	}
	if cfg.PerfDir != "" {
		if _, err := exec.LookPath("perf"); err != nil {
			return nil, errors.New("-perf needs perf(1); install linux-perf (apt-get install -y linux-perf)")
		}
		if err := os.MkdirAll(cfg.PerfDir, 0o755); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "dnsload-")
	if err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, log: log, dir: dir, dnsperf: perf,
		ds: newDataset("service.local", cfg.Services, cfg.Instances)}
	if h.queries, err = writeQueryFiles(dir, h.ds); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// close stops every process the run started and removes the work dir.
func (h *harness) close() {
	h.procs.stopAll()
	if h.cfg.Keep {
		fmt.Fprintln(h.log, "work directory kept:", h.dir)
		return
	}
	os.RemoveAll(h.dir)
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// run starts the servers, checks them, measures them and checks them again.
// The report is returned even when answers were wrong, so the figures show.
func (h *harness) run(ctx context.Context) (*report, error) {
	h.env = probeEnvironment(h.dnsperf)
	if err := h.startServers(ctx); err != nil {
		return nil, err
	}
	if err := h.verify(ctx, "before load"); err != nil {
		return nil, err
	}
	rep, err := h.measure(ctx)
	if err != nil {
		return rep, err
	}
	err = h.verify(ctx, "after load")
	rep.after = true
	if err != nil {
		rep.fail(err)
	}
	return rep, err
}

// startServers brings up beacon with the data set, then the reference
// server replaying beacon's answers, then NSD when it is installed.
func (h *harness) startServers(ctx context.Context) error {
	bin := h.cfg.Beacon
	if bin == "" {
		h.logf("building %s", beaconPackage)
		var err error
		bin = filepath.Join(h.dir, "beacon")
		if err = testkit.Build(ctx, bin, testkit.BuildOptions{}); err != nil {
			return err
		}
	}
	b, err := h.startBeacon(ctx, bin)
	if err != nil {
		return err
	}
	h.targets = append(h.targets, b)
	ref, err := h.startReference(ctx, b)
	if err != nil {
		return err
	}
	h.targets = append(h.targets, ref)
	if h.cfg.NoNSD {
		h.logf("NSD left out (-no-nsd)")
		return nil
	}
	nsd, err := h.startNSD(ctx)
	switch {
	case errors.Is(err, errNoNSD):
		h.logf("NSD skipped: nsd is not installed (apt-get install -y nsd to include it)")
	case err != nil:
		return err
	default:
		h.targets = append(h.targets, nsd)
	}
	return nil
}

func (h *harness) startBeacon(ctx context.Context, bin string) (*target, error) {
	dnsPort, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	t := &target{name: nameBeacon, addr: loopback(dnsPort), port: dnsPort}
	httpAddr := loopback(httpPort)
	h.logf("starting beacon serve (DNS %s, HTTP %s) on CPU %d", t.addr, httpAddr, h.cfg.ServerCPU)
	if t.child, err = startBeacon(ctx, &h.procs, bin, h.dir, h.cfg.ServerCPU, h.cfg.Nice, t.addr, httpAddr); err != nil {
		return nil, err
	}
	h.logf("registering %d services × %d instances", len(h.ds.Services), h.cfg.Instances)
	if err := registerAll(ctx, httpAddr, h.ds); err != nil {
		return nil, err
	}
	// Registration is durable when the API answers; DNS may follow a moment
	// later, so wait until every answer is complete and correct.
	err = poll(ctx, 20*time.Second, t.child, func() error { return verifyAll(ctx, t.addr, "udp", h.ds) })
	if err != nil {
		return nil, fmt.Errorf("beacon DNS never answered the registered data: %w\n%s", err, t.child.logTail())
	}
	return t, nil
}

// startReference captures beacon's answer to every question and starts the
// reference server, this same binary in its own process, to replay them.
func (h *harness) startReference(ctx context.Context, b *target) (*target, error) {
	canned, err := captureAnswers(ctx, b.addr, h.ds)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(canned)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(h.dir, "answers.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return nil, err
	}
	self, err := h.referenceBinary(ctx)
	if err != nil {
		return nil, err
	}
	port, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	t := &target{name: nameReference, addr: loopback(port), port: port}
	h.logf("starting the reference server (DNS %s) on CPU %d with %d canned answers", t.addr, h.cfg.ServerCPU, len(canned))
	t.child, err = h.procs.start("reference", h.cfg.ServerCPU, h.cfg.Nice, h.dir, os.Environ(), self, referenceCommand, "-listen", t.addr, "-answers", file)
	if err != nil {
		return nil, err
	}
	return t, h.waitReady(ctx, t)
}

// referenceBinary is this program, which serves as the reference when run
// with referenceCommand. `go run` strips symbols, so with -perf a copy
// with symbols is built into the perf directory for perf report to read.
func (h *harness) referenceBinary(ctx context.Context) (string, error) {
	if h.cfg.PerfDir == "" {
		return os.Executable()
	}
	bin, err := filepath.Abs(filepath.Join(h.cfg.PerfDir, "dnsload"))
	if err != nil {
		return "", err
	}
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, dnsloadPackage).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", dnsloadPackage, err, out)
	}
	return bin, nil
}

// waitReady waits until t answers a first question correctly over UDP and TCP.
func (h *harness) waitReady(ctx context.Context, t *target) error {
	qs := h.ds.questions(kindSRV)[:1]
	err := poll(ctx, 20*time.Second, t.child, func() error {
		for _, proto := range []string{"udp", "tcp"} {
			if err := verifyQuestions(ctx, t.addr, proto, h.ds, qs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s did not start: %w\n%s", t.name, err, t.child.logTail())
	}
	return nil
}

// verify checks every answer of every server over UDP and TCP.
func (h *harness) verify(ctx context.Context, when string) error {
	var errs []error
	for _, t := range h.targets {
		for _, proto := range []string{"udp", "tcp"} {
			if err := verifyAll(ctx, t.addr, proto, h.ds); err != nil {
				errs = append(errs, fmt.Errorf("%s, %s: %w", t.name, when, err))
			}
		}
	}
	if len(errs) == 0 {
		h.logf("all %d answers of %d servers correct over UDP and TCP %s", len(h.ds.allQuestions()), len(h.targets), when)
	}
	return errors.Join(errs...)
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
