package dnsserver

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// panicScanEvery spaces the scans of panicWatch, so that a burst of
// health changes costs one scan of the services, not one per change.
const panicScanEvery = 100 * time.Millisecond

// panicWatch follows the snapshots to log each service entering and
// leaving panic mode once, and to count them for
// beacon_dns_panic_services. Answers never wait for it: each decides
// panic mode from the snapshot it reads, with the same policy.
type panicWatch struct {
	policy store.DNSPolicy
	src    Source
	log    *slog.Logger
	met    *metrics
	stop   chan struct{}
	done   chan struct{}
	// started says run was started; the server's mu guards it.
	started bool
	// in holds the services in panic mode at the last scan.
	in map[string]bool
}

func newPanicWatch(cfg *Config, src Source, met *metrics) *panicWatch {
	if cfg.PanicThreshold <= 0 {
		return nil
	}
	return &panicWatch{
		policy: cfg.Policy(), src: src, log: cfg.Logger, met: met,
		stop: make(chan struct{}), done: make(chan struct{}), in: map[string]bool{},
	}
}

func (w *panicWatch) run() {
	defer close(w.done)
	for {
		snap := w.src.Snapshot()
		w.scan(snap)
		select {
		case <-snap.Changed():
		case <-w.stop:
			return
		}
		t := time.NewTimer(panicScanEvery)
		select {
		case <-t.C:
		case <-w.stop:
			t.Stop()
			return
		}
	}
}

// scan compares the services in panic mode in snap with those of the
// last scan, and logs the difference.
func (w *panicWatch) scan(snap *store.Snapshot) {
	now := map[string]bool{}
	threshold := strconv.FormatFloat(w.policy.PanicThreshold, 'g', -1, 64)
	for _, name := range w.policy.PanicServices(snap) {
		now[name] = true
		if w.in[name] {
			continue
		}
		svc := snap.Service(name)
		c := svc.Counts()
		healthy := c.Passing
		if !w.policy.OnlyPassing {
			healthy += c.Warning
		}
		w.log.Warn("service entered DNS panic mode: answering with every instance not in maintenance",
			"service", name, "healthy", healthy, "instances", len(svc.Instances)-c.Maintenance, "threshold", threshold)
	}
	for name := range w.in {
		if !now[name] {
			w.log.Info("service left DNS panic mode", "service", name, "threshold", threshold)
		}
	}
	w.in = now
	w.met.panicking.Store(int64(len(now)))
}

// start runs the watch; the server's mu is held.
func (w *panicWatch) start() {
	if w == nil || w.started {
		return
	}
	w.started = true
	go w.run()
}

// shutdown stops the watch and waits for it; the server's mu is held.
func (w *panicWatch) shutdown() {
	if w == nil || !w.started {
		return
	}
	select {
	case <-w.stop:
	default:
		close(w.stop)
		<-w.done
	}
}
