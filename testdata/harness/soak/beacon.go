package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/beaconbin"
)

// Bounds on starting and stopping a beacon process.
const (
	readyTimeout = 15 * time.Second
	stopTimeout  = 20 * time.Second
	// startAttempts bounds retries when a port picked as free was taken
	// by someone else before beacon bound it.
	startAttempts = 5
	// stderrKeep is how much of a process's stderr is kept (the tail).
	stderrKeep = 1 << 20
)

// beaconProc is one `beacon serve` process started here.
type beaconProc struct {
	DataDir  string
	DNSAddr  string
	HTTPAddr string

	cmd    *exec.Cmd
	stderr *tailBuffer
	done   chan struct{} // closed once the process has exited
	state  *os.ProcessState
}

// launch starts `beacon serve` on dataDir and the given addresses, plus
// extra flags, without waiting for it to be ready.
func launch(bin, dataDir, dnsAddr, httpAddr string, extra ...string) (*beaconProc, error) {
	args := append([]string{"serve", "-data-dir", dataDir, "-dns-addr", dnsAddr,
		"-http-addr", httpAddr, "-node", "soak"}, extra...)
	p := &beaconProc{DataDir: dataDir, DNSAddr: dnsAddr, HTTPAddr: httpAddr,
		stderr: &tailBuffer{max: stderrKeep}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = beaconbin.CleanEnv()
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	return p, nil
}

// startBeacon starts `beacon serve` on dataDir with free loopback ports
// and waits until /healthz answers 200. A port lost to a race with
// another program is retried on new ports.
func startBeacon(ctx context.Context, bin, dataDir string, extra ...string) (*beaconProc, error) {
	var last error
	for attempt := 0; attempt < startAttempts; attempt++ {
		dnsAddr, httpAddr, err := freeAddrs()
		if err != nil {
			return nil, err
		}
		p, err := launch(bin, dataDir, dnsAddr, httpAddr, extra...)
		if err != nil {
			return nil, err
		}
		err = p.waitReady(ctx, readyTimeout)
		if err == nil {
			return p, nil
		}
		p.kill()
		last = err
		if !strings.Contains(p.Stderr(), "address already in use") {
			break
		}
	}
	return nil, last
}

// waitReady polls /healthz until it answers 200, the process exits or
// the timeout passes.
func (p *beaconProc) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	url := "http://" + p.HTTPAddr + "/healthz"
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("beacon exited before it was ready (%s): %s", p.state, lastLines(p.Stderr(), 5))
		case <-ctx.Done():
			return fmt.Errorf("beacon not ready within %s: %s", timeout, lastLines(p.Stderr(), 5))
		case <-tick.C:
		}
	}
}

// PID is the process ID.
func (p *beaconProc) PID() int { return p.cmd.Process.Pid }

// Stderr is the tail of what the process wrote to stdout and stderr.
func (p *beaconProc) Stderr() string { return p.stderr.String() }

// Exited reports whether the process has exited.
func (p *beaconProc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitExit waits up to timeout for the process to exit on its own and
// returns its exit code; -1 means killed by a signal.
func (p *beaconProc) waitExit(timeout time.Duration) (int, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.state.ExitCode(), nil
	case <-t.C:
		return 0, fmt.Errorf("beacon (pid %d) still running after %s", p.PID(), timeout)
	}
}

// kill ends the process with SIGKILL, as a crash or the OOM killer
// would, and waits for it to be gone (its lock released).
func (p *beaconProc) kill() {
	if p.Exited() {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
}

// terminate sends SIGTERM and waits for a graceful exit, falling back to
// SIGKILL after stopTimeout. It returns the exit code of a graceful exit.
func (p *beaconProc) terminate() (int, error) {
	if p.Exited() {
		return p.state.ExitCode(), nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return 0, err
	}
	code, err := p.waitExit(stopTimeout)
	if err != nil {
		p.kill()
		return 0, fmt.Errorf("no graceful exit after SIGTERM: %w", err)
	}
	return code, nil
}

// freeAddrs picks loopback addresses for DNS (one port free for both UDP
// and TCP) and HTTP by binding port 0 and letting go.
func freeAddrs() (dnsAddr, httpAddr string, err error) {
	for i := 0; i < 20; i++ {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		addr := tl.Addr().String()
		ul, err := net.ListenPacket("udp", addr)
		if err != nil {
			tl.Close()
			continue
		}
		hl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tl.Close()
			ul.Close()
			return "", "", err
		}
		httpAddr = hl.Addr().String()
		tl.Close()
		ul.Close()
		hl.Close()
		return addr, httpAddr, nil
	}
	return "", "", errors.New("no loopback port free for both UDP and TCP")
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent
// use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) > b.max {
		return string(b.buf[len(b.buf)-b.max:])
	}
	return string(b.buf)
}

// lastLines is the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// crashTrace reports whether output shows a Go panic or fatal error.
func crashTrace(output string) bool {
	return strings.Contains(output, "panic:") || strings.Contains(output, "goroutine ") ||
		strings.Contains(output, "fatal error:")
}
