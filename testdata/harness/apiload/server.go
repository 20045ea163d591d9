package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/beaconbin"
)

// Bounds on building, starting and stopping beacon.
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

	cmd  *exec.Cmd
	done chan struct{} // closed when the started process has exited
	mu   sync.Mutex
	tail []string // last lines of its log
}

// startServer runs `beacon serve` on a fresh data dir under parent with
// both listeners on free loopback ports, and waits for its API to answer.
// The port is the one beacon reports binding, so no other process can
// take it in between. beacon gets its own process group (a Ctrl-C at the
// terminal reaches only apiload, which then stops it by PID) and SIGKILL
// as its parent-death signal, so it cannot outlive an apiload that is
// killed outright.
func startServer(ctx context.Context, bin, parent, name string) (*server, error) {
	dataDir := filepath.Join(parent, name)
	return startProcess(ctx, dataDir, bin, "serve", "-data-dir", dataDir,
		"-http-addr", "127.0.0.1:0", "-dns-addr", "127.0.0.1:0", "-node", "apiload", "-log-level", "info")
}

// startFloor runs this program as the floor server (see floor.go).
func startFloor(ctx context.Context) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return startProcess(ctx, "", self, "-serve-floor", "127.0.0.1:0")
}

// startProcess runs argv, which must log its HTTP address as beacon does,
// and waits until its /healthz answers 200.
func startProcess(ctx context.Context, dataDir string, argv ...string) (*server, error) {
	bin := argv[0]
	cmd := exec.Command(bin, argv[1:]...)
	cmd.Env = beaconbin.CleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{PID: cmd.Process.Pid, DataDir: dataDir, cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go s.readLog(stderr, addrc)
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case s.Addr = <-addrc:
	case <-s.done:
		return nil, fmt.Errorf("beacon exited at start (%v):\n%s", cmd.ProcessState, s.logTail())
	case <-timer.C:
		err = fmt.Errorf("beacon did not report its HTTP address within %v:\n%s", startTimeout, s.logTail())
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		err = waitReady(ctx, s)
	}
	if err != nil {
		_ = s.stop()
		return nil, err
	}
	return s, nil
}

// readLog keeps the tail of beacon's log and sends the HTTP address from
// its "http listening" line.
func (s *server) readLog(r io.Reader, addrc chan<- string) {
	sc := bufio.NewScanner(r)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		if !sent {
			if addr, ok := listenAddr(line); ok {
				addrc <- addr
				sent = true
			}
		}
		s.mu.Lock()
		s.tail = append(s.tail, line)
		if len(s.tail) > logKeep {
			s.tail = s.tail[len(s.tail)-logKeep:]
		}
		s.mu.Unlock()
	}
	// Drain whatever a full scanner buffer left, so beacon never blocks
	// on a stderr pipe nobody reads.
	_, _ = io.Copy(io.Discard, r)
}

// listenAddr extracts the address from beacon's slog text line
// `... msg="http listening" addr=127.0.0.1:41234 scheme=http ...`.
func listenAddr(line string) (string, bool) {
	_, rest, ok := strings.Cut(line, `msg="http listening" `)
	if !ok {
		return "", false
	}
	for _, f := range strings.Fields(rest) {
		if v, ok := strings.CutPrefix(f, "addr="); ok && v != "" {
			return v, true
		}
	}
	return "", false
}

func (s *server) logTail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// waitReady polls /healthz until it answers 200.
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
			return fmt.Errorf("beacon not ready within %v: %w\n%s", startTimeout, err, s.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return fmt.Errorf("beacon exited at start:\n%s", s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// exited reports whether a started beacon has ended.
func (s *server) exited() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop ends a beacon started here: SIGTERM to its PID, then SIGKILL if it
// has not exited within stopTimeout. A server not started here is left
// running.
func (s *server) stop() error {
	if s == nil || s.cmd == nil {
		return nil
	}
	if s.exited() {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	return fmt.Errorf("beacon (pid %d) ignored SIGTERM for %v and was killed", s.PID, stopTimeout)
}
