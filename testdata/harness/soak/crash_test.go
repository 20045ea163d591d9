package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// Sizes of the crash tests: enough writes in flight that a kill lands
// mid-stream, few enough to stay within seconds.
const (
	crashWriters = 6
	crashRounds  = 3
	crashMaxOps  = 2000 // per writer and round; the kill comes long before
	ackTimeout   = 10 * time.Second
)

// TestSIGKILLLosesNothingAcknowledged kills beacon while writers are busy,
// restarts it on the same data dir and checks that every acknowledged
// registration, change and deregistration is there exactly as answered,
// and that the change index did not go backwards. Writes from earlier
// rounds are changed and removed in later ones, so records loaded from
// disk are exercised too.
func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	l := newLedger()
	w := newWriters(crashWriters, l)
	var seen uint64 // highest X-Consul-Index before the last kill
	for round := 0; round <= crashRounds; round++ {
		p := serve(t, dir)
		c := newAPIClient(p.HTTPAddr)
		if round > 0 {
			idx, err := c.catalogIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if idx < seen {
				t.Errorf("round %d: X-Consul-Index %d after restart, but %d was seen before the kill", round, idx, seen)
			}
			if !l.verify(ctx, t, c) {
				t.Fatalf("round %d: acknowledged writes lost or changed by SIGKILL", round)
			}
		}
		if round == crashRounds {
			t.Logf("%d writes acknowledged over %d kills; %d instances present at the end", w.acks.Load(), crashRounds, l.acked())
			return
		}
		watch := watchIndex(ctx, c, &w.stopping)
		wait := w.run(ctx, c, round, crashMaxOps)
		target := w.acks.Load() + 300 + rand.Int64N(500)
		w.waitAcks(target, ackTimeout)
		w.stopping.Store(true)
		p.Kill()
		wait()
		seen = max(seen, watch.finish(t))
		w.failures(t)
		c.close()
		if got := w.acks.Load(); got < target {
			t.Fatalf("round %d: only %d writes acknowledged within %s, want %d", round, got, ackTimeout, target)
		}
		t.Logf("round %d: killed after %d acknowledged writes, %d unanswered, index %d", round, w.acks.Load(), l.unanswered(), seen)
	}
}

// TestSIGTERMUnderLoad stops beacon with SIGTERM while writers are busy:
// it must exit 0, and everything it acknowledged must be there after a
// restart.
func TestSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	p := serve(t, dir)
	c := newAPIClient(p.HTTPAddr)
	l := newLedger()
	w := newWriters(crashWriters, l)
	wait := w.run(ctx, c, 0, crashMaxOps)
	w.waitAcks(200, ackTimeout)
	w.stopping.Store(true)
	start := time.Now()
	code, err := terminate(p)
	wait()
	w.failures(t)
	c.close()
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; output: %s", code, testkit.LastLines(p.Log(), 5))
	}
	noCrash(t, p)
	t.Logf("SIGTERM after %d acknowledged writes (%d unanswered); exited %d in %s",
		w.acks.Load(), l.unanswered(), code, time.Since(start).Round(time.Millisecond))

	p2 := serve(t, dir)
	c2 := newAPIClient(p2.HTTPAddr)
	l.verify(ctx, t, c2)
	if n := l.acked(); n == 0 {
		t.Error("no instance was acknowledged; the test proved nothing")
	}
}

// indexWatch polls X-Consul-Index while writers run, checking it never
// goes backwards, and keeps the highest value seen.
type indexWatch struct {
	stop chan struct{}
	done chan struct{}
	max  uint64
	errs []error
}

// watchIndex polls c until finish; errors after *stopping is set are the
// expected result of stopping beacon.
func watchIndex(ctx context.Context, c *apiClient, stopping interface{ Load() bool }) *indexWatch {
	iw := &indexWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(iw.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 10000; i++ {
			idx, err := c.catalogIndex(ctx)
			switch {
			case err != nil && !stopping.Load():
				iw.errs = append(iw.errs, err)
				return
			case err != nil:
				return
			case idx < iw.max:
				iw.errs = append(iw.errs, fmt.Errorf("X-Consul-Index went backwards: %d after %d", idx, iw.max))
			case idx == 0:
				iw.errs = append(iw.errs, fmt.Errorf("X-Consul-Index 0, want at least 1"))
			}
			iw.max = max(iw.max, idx)
			select {
			case <-iw.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return iw
}

// finish stops the watch and returns the highest index seen.
func (iw *indexWatch) finish(t *testing.T) uint64 {
	t.Helper()
	close(iw.stop)
	<-iw.done
	for _, err := range iw.errs {
		t.Error(err)
	}
	return iw.max
}
