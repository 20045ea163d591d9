package store

import (
	"log/slog"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"

	bolt "go.etcd.io/bbolt"
)

// openTest opens a store in dir (a fresh temp dir when empty) on the fake
// clock clk (a new one when nil) and closes it at cleanup after checking
// the bolt file's consistency.
func openTest(t *testing.T, dir string, clk *testkit.Clock) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if clk == nil {
		clk = testkit.NewClock()
	}
	s, err := Open(Options{Dir: dir, NodeName: "node1", Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { closeChecked(t, s) })
	return s
}

func closeChecked(t *testing.T, s *Store) {
	t.Helper()
	if s.Healthy() != nil {
		return
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Errorf("bolt consistency: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// crash stops the store as a killed process would: the file is closed
// under the committer, so nothing pending is flushed.
func crash(s *Store) {
	s.db.Close()
	close(s.quit)
	<-s.stopped
}

func mustRegister(t *testing.T, s *Store, r Registration) *Instance {
	t.Helper()
	in, err := s.Register(r)
	if err != nil {
		t.Fatalf("Register(%+v): %v", r, err)
	}
	return in
}

// waitSnapshot waits until cond holds for the published snapshot, for
// what the committer does on its own once a test moved the fake clock. It
// wakes on each new snapshot, and fails the test after a bound in real
// time.
func waitSnapshot(t *testing.T, s *Store, what string, cond func(*Snapshot) bool) {
	t.Helper()
	limit := time.NewTimer(5 * time.Second)
	defer limit.Stop()
	for {
		snap := s.Snapshot()
		if cond(snap) {
			return
		}
		select {
		case <-snap.Changed():
		case <-limit.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitDisk polls the open database until cond holds for what it holds,
// for writes the committer makes on its own; it fails the test after a
// bound in real time.
func waitDisk(t *testing.T, s *Store, what string, cond func(tx *bolt.Tx) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ok bool
		if err := s.db.View(func(tx *bolt.Tx) error { ok = cond(tx); return nil }); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var _ Clock = (*testkit.Clock)(nil)
