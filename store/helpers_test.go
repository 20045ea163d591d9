package store

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// clock is a settable time source for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openTest opens a store in dir (a fresh temp dir when empty) and closes it
// at cleanup after checking the bolt file's consistency.
func openTest(t *testing.T, dir string, now func() time.Time) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(Options{Dir: dir, NodeName: "node1", Now: now, Logger: slog.New(slog.DiscardHandler), FlushInterval: 50 * time.Millisecond})
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
