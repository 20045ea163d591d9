package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

const (
	// stopTimeout bounds a graceful stop of beacon after SIGTERM.
	stopTimeout = 20 * time.Second
	// soakPrefix starts the ID and service name of everything the soak
	// registers, so that on a running beacon it touches nothing else.
	soakPrefix = "soak-"
	// stableService has stableCount instances with no checks that stay
	// registered for the whole run: their answers must never change.
	stableService = soakPrefix + "stable"
	stableCount   = 5
	// flapService is the service of the flapping backends.
	flapService = soakPrefix + "flap"
)

// target is the beacon under test: one started here, or one running.
type target struct {
	httpAddr, dnsAddr string
	pid               int
	dataDir           string
	proc              *testkit.Beacon // nil when not started here
	tmp               string          // removed at cleanup unless kept
}

// openTarget starts beacon (building it unless cfg.Beacon names a
// binary), or uses the one at cfg.HTTPAddr.
func openTarget(ctx context.Context, cfg config, log io.Writer) (*target, error) {
	if cfg.HTTPAddr != "" {
		if cfg.DNSAddr == "" {
			return nil, fmt.Errorf("-addr needs -dns-addr too")
		}
		return &target{httpAddr: cfg.HTTPAddr, dnsAddr: cfg.DNSAddr, pid: cfg.PID, dataDir: cfg.DataDir}, nil
	}
	tmp, err := os.MkdirTemp("", "beacon-soak")
	if err != nil {
		return nil, err
	}
	t := &target{tmp: tmp, dataDir: cfg.DataDir}
	if t.dataDir == "" {
		t.dataDir = filepath.Join(tmp, "data")
	}
	bin := cfg.Beacon
	if bin == "" {
		fmt.Fprintln(log, "soak: building cmd/beacon")
		bin = filepath.Join(tmp, "beacon")
		if err = testkit.Build(ctx, bin, testkit.BuildOptions{}); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
	}
	p, err := testkit.Start(ctx, testkit.Options{Bin: bin, DataDir: t.dataDir, Args: []string{"-node", "soak", "-domain", cfg.Domain}})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	t.proc, t.pid, t.httpAddr, t.dnsAddr = p, p.PID(), p.HTTPAddr, p.DNSAddr
	return t, nil
}

func (t *target) describe() string {
	if t.proc == nil {
		return fmt.Sprintf("beacon at http %s, dns %s", t.httpAddr, t.dnsAddr)
	}
	return fmt.Sprintf("beacon pid %d started here, http %s, dns %s, data %s", t.pid, t.httpAddr, t.dnsAddr, t.dataDir)
}

// stop ends a beacon started here with SIGTERM and returns what went
// wrong, if anything: a non-zero exit or a crash trace in its output.
func (t *target) stop() string {
	if t.proc == nil {
		return ""
	}
	code, err := t.proc.Stop(syscall.SIGTERM, stopTimeout)
	out := t.proc.Log()
	switch {
	case err != nil:
		return "stopping beacon: " + err.Error()
	case testkit.Crashed(out):
		return "beacon crashed: " + testkit.LastLines(out, 5)
	case code != 0:
		return fmt.Sprintf("beacon exited %d after SIGTERM: %s", code, testkit.LastLines(out, 3))
	}
	return ""
}

// cleanup kills a beacon started here if it still runs and removes the
// temporary files unless keep is set.
func (t *target) cleanup(keep bool) {
	if t.proc != nil {
		t.proc.Kill()
	}
	if t.tmp != "" && !keep {
		os.RemoveAll(t.tmp)
	}
}

// runSoak runs the load described by cfg against beacon and reports.
// An error means the run could not be set up; problems found under load
// are in the report.
func runSoak(ctx context.Context, cfg config, log io.Writer) (*report, error) {
	t, err := openTarget(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer t.cleanup(cfg.Keep)
	api := newAPIClient(t.httpAddr)
	defer api.close()
	rep := &report{Duration: cfg.Duration, Server: t.describe(), Backends: cfg.Backends}
	rep.Before = takeSample(ctx, api, t.pid, t.dataDir)
	want, bs, err := setUp(ctx, api, cfg)
	if err != nil {
		return nil, err
	}
	defer bs.close()

	l := &load{
		dns:   &dnsLoad{addr: t.dnsAddr, workers: cfg.DNSWorkers, qps: cfg.DNSRate, want: want},
		churn: newChurn(api, cfg.ChurnRate, cfg.ChurnLive),
		flaps: bs,
	}
	fmt.Fprintf(log, "soak: %s; load for %s\n", t.describe(), cfg.Duration)
	rep.Warm, rep.End = l.run(ctx, cfg, log, func() sample { return takeSample(ctx, api, t.pid, t.dataDir) })
	l.collect(rep, cfg)
	if rep.CatalogDiffs, err = l.churn.verify(ctx); err != nil {
		rep.APIErrors++
		rep.APIErrorSamples = append(rep.APIErrorSamples, "reading the catalog at the end: "+err.Error())
	}

	// Let the connections of the load close before the idle sample; a
	// second is plenty, and a short run gets a quarter of its length.
	api.close()
	sleepUntil(ctx, time.Now().Add(min(time.Second, cfg.Duration/4)))
	rep.After = takeSample(ctx, api, t.pid, t.dataDir)
	if t.proc == nil {
		// A beacon that goes on running is left as it was found.
		if err := removeSoakInstances(ctx, api); err != nil {
			rep.APIErrors++
			rep.APIErrorSamples = append(rep.APIErrorSamples, "removing the soak's instances: "+err.Error())
		}
	}
	rep.Stop = t.stop()
	return rep, nil
}

// setUp clears what an earlier run may have left, registers the stable
// instances and starts and registers the flapping backends.
func setUp(ctx context.Context, api *apiClient, cfg config) (expectations, *backends, error) {
	if err := removeSoakInstances(ctx, api); err != nil {
		return expectations{}, nil, err
	}
	want, err := registerStable(ctx, api, cfg.Domain)
	if err != nil {
		return want, nil, err
	}
	bs, err := startBackends(cfg.Backends, cfg.FlapEvery)
	if err != nil {
		return want, nil, err
	}
	for _, r := range bs.registrations() {
		if err := api.register(ctx, r); err != nil {
			bs.close()
			return want, nil, fmt.Errorf("registering backend %s: %w", r.ID, err)
		}
	}
	want.flapPorts = bs.ports()
	return want, bs, nil
}

// load is everything that runs at once for -duration.
type load struct {
	dns   *dnsLoad
	churn *churn
	flaps *backends
}

// run runs the load for cfg.Duration (or until ctx ends) and returns
// the samples taken after the warm-up and shortly before the end.
func (l *load) run(ctx context.Context, cfg config, log io.Writer, sample func() sample) (warm, end sample) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, run := range []func(context.Context, time.Duration){l.dns.run, l.churn.run, l.flaps.run,
		func(ctx context.Context, d time.Duration) { progress(ctx, d, log, l.dns, l.churn) }} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx, cfg.Duration)
		}()
	}
	sleepUntil(ctx, start.Add(min(cfg.Warmup, cfg.Duration/4)))
	warm = sample()
	sleepUntil(ctx, start.Add(cfg.Duration-min(2*time.Second, cfg.Duration/10)))
	end = sample()
	wg.Wait()
	return warm, end
}

// collect copies the load's figures into rep.
func (l *load) collect(rep *report, cfg config) {
	d, c := l.dns, l.churn
	rep.Answered, rep.Failed, rep.Timeouts = d.answered.Load(), d.failed.Load(), d.timeouts.Load()
	rep.TCPRetries, rep.TCPReconnects = d.tcpRetries.Load(), d.tcpReconnects.Load()
	rep.P50, rep.P99, rep.Max = d.hist.quantile(0.5), d.hist.quantile(0.99), d.hist.max
	rep.DNSErrors = d.errs
	rep.Registered, rep.Deregistered, rep.APIErrors = c.registered.Load(), c.deregistered.Load(), c.errors.Load()
	rep.APIErrorSamples = c.errs
	rep.WriteP50, rep.WriteP99, rep.WriteMax = c.latency.quantile(0.5), c.latency.quantile(0.99), c.latency.max
	rep.Live = c.liveCount()
	rep.Flips, rep.FlapChanges = l.flaps.flips.Load(), d.flapChanges.Load()
	rep.FlapRequired = cfg.Duration >= 4*cfg.FlapEvery+3*time.Second && cfg.Backends > 0
}

// removeSoakInstances deregisters every instance whose ID has the soak's
// prefix, such as those left by an interrupted run.
func removeSoakInstances(ctx context.Context, api *apiClient) error {
	all, err := api.services(ctx)
	if err != nil {
		return err
	}
	for id := range all {
		if strings.HasPrefix(id, soakPrefix) {
			if err := api.deregister(ctx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// registerStable registers the instances whose answers never change and
// returns the expectations for them.
func registerStable(ctx context.Context, api *apiClient, domain string) (expectations, error) {
	want := expectations{domain: strings.ToLower(strings.TrimSuffix(domain, ".")),
		churnLo: churnPortLo, churnHi: churnPortLo + churnPortSpan}
	for i := 1; i <= stableCount; i++ {
		ip := netip.AddrFrom4([4]byte{10, 99, 0, byte(i)})
		r := registration{ID: fmt.Sprintf("%s-%d", stableService, i), Name: stableService, Address: ip.String(),
			Port: 9000 + i, Tags: []string{"stable"}}
		if err := api.register(ctx, r); err != nil {
			return want, fmt.Errorf("registering %s: %w", r.ID, err)
		}
		want.stable = append(want.stable, instanceAddr{IP: ip, Port: uint16(r.Port)})
	}
	return want, nil
}

// progress prints a line of running totals every 10 seconds.
func progress(ctx context.Context, d time.Duration, log io.Writer, dns *dnsLoad, ch *churn) {
	const every = 10 * time.Second
	tick := time.NewTicker(every)
	defer tick.Stop()
	start := time.Now()
	for i := 0; i < int(d/every); i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		fmt.Fprintf(log, "soak: %s: %d DNS answered, %d failed; %d registered, %d deregistered, %d API errors\n",
			time.Since(start).Round(time.Second), dns.answered.Load(), dns.failed.Load(),
			ch.registered.Load(), ch.deregistered.Load(), ch.errors.Load())
	}
}

// pace waits until t, at once if t has passed, and reports whether ctx
// is still live: loops call it to keep a rate and catch up after a stall.
func pace(ctx context.Context, t time.Time) bool {
	if time.Until(t) > 0 {
		sleepUntil(ctx, t)
	}
	return ctx.Err() == nil
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
