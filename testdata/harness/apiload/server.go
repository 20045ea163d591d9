package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// Bounds on starting and stopping beacon.
const (
	startTimeout = 20 * time.Second
	stopTimeout  = 20 * time.Second
	logKeep      = 40 // lines of beacon's log kept for error messages
)

// server is the beacon under test: one started here, or one already
// running (-addr), whose PID may be unknown (0).
type server struct {
	Addr    string // host:port of the HTTP API
	PID     int
	DataDir string

	proc *testkit.Beacon // nil when not started here
}

// startServer runs `beacon serve` on a fresh data dir under parent with
// both listeners on loopback ports it picks itself, and waits for its API
// to answer.
func startServer(ctx context.Context, bin, parent, name string) (*server, error) {
	dataDir := filepath.Join(parent, name)
	return start(ctx, testkit.Options{Bin: bin, DataDir: dataDir, ReadyTimeout: startTimeout,
		Args: []string{"-node", "apiload", "-log-level", "info"}})
}

// startFloor runs this program as the floor server (see floor.go).
func startFloor(ctx context.Context) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return start(ctx, testkit.Options{Command: []string{self, "-serve-floor", "127.0.0.1:0"}, ReadyTimeout: startTimeout})
}

func start(ctx context.Context, o testkit.Options) (*server, error) {
	p, err := testkit.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	return &server{Addr: p.HTTPAddr, PID: p.PID(), DataDir: o.DataDir, proc: p}, nil
}

// waitReady polls the /healthz of a beacon not started here until it
// answers 200.
func waitReady(ctx context.Context, s *server) error {
	c := newClient(s.Addr, 2)
	defer c.close()
	deadline := time.Now().Add(startTimeout)
	for {
		err := c.healthz(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("beacon at %s not ready within %v: %w", s.Addr, startTimeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// exited reports whether a started beacon has ended.
func (s *server) exited() bool { return s.proc != nil && s.proc.Exited() }

// logTail is the end of a started beacon's log.
func (s *server) logTail() string {
	if s.proc == nil {
		return ""
	}
	return testkit.LastLines(s.proc.Log(), logKeep)
}

// stop ends a beacon started here: SIGTERM to its PID, then SIGKILL if it
// has not exited within stopTimeout. A server not started here is left
// running.
func (s *server) stop() error {
	if s == nil || s.proc == nil {
		return nil
	}
	_, err := s.proc.Stop(syscall.SIGTERM, stopTimeout)
	return err
}
