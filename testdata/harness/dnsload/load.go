package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// row is one line of the table: a kind of query over one transport.
type row struct {
	Kind  string
	Proto string // "udp" or "tcp"
}

// rows are the table's lines, UDP first.
func rows() []row {
	var rs []row
	for _, p := range []string{"udp", "tcp"} {
		for _, k := range kinds {
			rs = append(rs, row{k, p})
		}
	}
	return rs
}

// outcome is what one server did on one row.
type outcome struct {
	Runs    []*perfResult // full-rate runs, one per round
	Best    *perfResult   // the full-rate run with the most queries/s
	Half    *perfResult   // the run at half of Best's rate, with per-query latencies
	HalfQPS int           // the rate of Half: half of Best's, or -latency-qps
	P99     time.Duration // of Half
}

// measure drives every server on every row and returns the report. Servers
// take turns run by run, and the order flips from one row (and round) to
// the next, so that slow drift and other load on the machine hit all of
// them alike. A wrong answer is recorded and the run goes on; a server
// that dies or a dnsperf that fails ends it.
func (h *harness) measure(ctx context.Context) (*report, error) {
	rep := newReport(h)
	for i, r := range rows() {
		for round := range h.cfg.Rounds {
			for _, t := range turnOrder(h.targets, i+round) {
				res, err := h.load(ctx, rep, t, r, 0)
				if err != nil {
					return rep, err
				}
				rep.add(t.name, r, res)
			}
		}
		if h.cfg.LatencyDuration <= 0 {
			continue
		}
		for _, t := range turnOrder(h.targets, i) {
			o := rep.outcome(t.name, r)
			o.HalfQPS = max(int(o.Best.QPS/2), 1)
			if h.cfg.LatencyQPS > 0 {
				o.HalfQPS = h.cfg.LatencyQPS
			}
			res, err := h.load(ctx, rep, t, r, o.HalfQPS)
			if err != nil {
				return rep, err
			}
			o.Half, o.P99 = res, percentile(res.Latencies, 99)
			h.logf("  %s %s: p99 %v over %d answers at %d q/s", t.name, rowLabel(r), o.P99, len(res.Latencies), o.HalfQPS)
			res.Latencies = nil
		}
	}
	rep.env.LoadAfter = loadAverage()
	if rep.wrong > 0 {
		return rep, fmt.Errorf("%d wrong answers under load: %w", rep.wrong, errors.Join(rep.Failures...))
	}
	return rep, nil
}

// turnOrder is ts, reversed on odd turns.
func turnOrder(ts []*target, turn int) []*target {
	out := slices.Clone(ts)
	if turn%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// load runs dnsperf once against t for r, at full rate (maxQPS 0) or
// capped with per-query latencies, while sampling answers for correctness.
func (h *harness) load(ctx context.Context, rep *report, t *target, r row, maxQPS int) (*perfResult, error) {
	a := perfArgs{Server: "127.0.0.1", Port: t.port, File: h.queries[r.Kind], TCP: r.Proto == "tcp",
		Clients: h.cfg.Clients, Queries: h.cfg.Outstanding, Duration: h.cfg.Duration, Timeout: h.cfg.Timeout}
	if maxQPS > 0 {
		a.MaxQPS, a.Verbose, a.Duration = maxQPS, true, h.cfg.LatencyDuration
	}
	out := filepath.Join(h.dir, fmt.Sprintf("dnsperf-%s-%s-%s-%d.txt", t.name, r.Kind, r.Proto, time.Now().UnixNano()))
	sctx, stop := context.WithCancel(ctx)
	sampled := make(chan sampleResult, 1)
	go func() { sampled <- sampleDuring(sctx, t.addr, r.Proto, h.ds, r.Kind, 50*time.Millisecond) }()
	var profiled <-chan error
	if h.cfg.PerfDir != "" && maxQPS == 0 {
		profiled = h.profile(ctx, t, r)
	}
	pid := t.child.cmd.Process.Pid // also its process group (Setpgid)
	cpu0, cerr := stats.Host.GroupCPU(pid)
	srv0, all0, derr := stats.Host.UDPDrops(pid, t.port)
	res, err := runDNSPerf(ctx, h.dnsperf, h.cfg.ClientCPU, h.cfg.Nice, a, out)
	cpu1, cerr1 := stats.Host.GroupCPU(pid)
	srv1, all1, derr1 := stats.Host.UDPDrops(pid, t.port)
	stop()
	if profiled != nil {
		if perr := <-profiled; perr != nil {
			h.logf("perf record of %s %s: %v", t.name, rowLabel(r), perr)
		}
	}
	s := <-sampled
	if a.Verbose && !h.cfg.Keep {
		os.Remove(out) // per-query lines: tens of megabytes
	}
	if done, werr := t.child.exited(); done {
		return nil, fmt.Errorf("%s exited during load (%v):\n%s", t.name, werr, t.child.logTail())
	}
	if err = errors.Join(err, cerr, cerr1, derr, derr1); err != nil {
		return nil, err
	}
	res.ServerCPU = cpu1 - cpu0
	res.ServerDrops, res.OtherDrops = int64(srv1-srv0), int64(all1-all0)-int64(srv1-srv0)
	rep.sampled(t.name, s)
	want := "NOERROR"
	if r.Kind == kindNX {
		want = "NXDOMAIN"
	}
	for rc, n := range res.Rcodes {
		if rc != want {
			rep.failN(fmt.Errorf("%s %s: dnsperf saw %d answers with %s, want only %s", t.name, rowLabel(r), n, rc, want), n)
		}
	}
	rate := "full rate"
	if maxQPS > 0 {
		rate = fmt.Sprintf("-Q %d", maxQPS)
	}
	drops := ""
	if r.Proto == "udp" {
		drops = fmt.Sprintf(" (UDP drops: server socket %d, others %d)", res.ServerDrops, res.OtherDrops)
	}
	h.logf("%-9s %-13s %s: %8.0f q/s (%.0f per CPU-second; server CPU %.0f%%, dnsperf CPU %.0f%%), avg %v, lost %d%s, response %d B; %d sampled answers correct, %d timed out",
		t.name, rowLabel(r), rate, res.QPS, res.perCPUSecond(), 100*res.share(res.ServerCPU), 100*res.share(res.ClientCPU),
		res.AvgLatency, res.Lost, drops, res.ResponseSize, s.Checked, s.Timeouts)
	return res, nil
}

// profile records the server's CPU profile with perf(1) from CPU 1 for
// the middle of the run: it starts a second in and stops a second before
// the end, so start-up and the final drain stay out.
func (h *harness) profile(ctx context.Context, t *target, r row) <-chan error {
	done := make(chan error, 1)
	file := filepath.Join(h.cfg.PerfDir, fmt.Sprintf("%s-%s-%s.data", t.name, r.Kind, r.Proto))
	length := max(h.cfg.Duration-2*time.Second, time.Second)
	go func() {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			done <- ctx.Err()
			return
		}
		argv := pinned(h.cfg.ClientCPU, 0, []string{"perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g",
			"-p", strconv.Itoa(t.child.cmd.Process.Pid), "-o", file, "--", "sleep", strconv.FormatFloat(length.Seconds(), 'f', -1, 64)})
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
		}
		done <- err
	}()
	return done
}

// rowLabel is "SRV/UDP".
func rowLabel(r row) string { return r.Kind + "/" + strings.ToUpper(r.Proto) }
