package main

import (
	"testing"
	"time"
)

// TestSmallRun runs the whole benchmark small and quick, targets in
// process, and checks that every instance was registered, checked and
// passing, whatever the performance on the test machine.
func TestSmallRun(t *testing.T) {
	r, err := measure(options{instances: 200, interval: time.Second, duration: 3 * time.Second,
		warmup: 1500 * time.Millisecond, targets: 2, inproc: true, concurrency: 16, dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.passingAtEnd != 200 {
		t.Errorf("%d of 200 passing at the end", r.passingAtEnd)
	}
	if r.steadyRuns < 200 {
		t.Errorf("%d runs in the steady-state window of %s; 200 checks at 1s should give about %d", r.steadyRuns, r.window, int(200*r.window.Seconds()))
	}
	if q := r.lat.of(&r.lat.first); q.n != 200 {
		t.Errorf("%d first runs observed, want 200", q.n)
	}
	if r.conns <= 0 {
		t.Errorf("targets accepted %d connections", r.conns)
	}
}
