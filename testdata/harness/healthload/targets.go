package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// targetHandler answers every health path 200 with a short body, as a
// healthy service's health endpoint does.
var targetHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "ok")
})

// accepted counts the connections the targets accepted, to tell how well
// the checker keeps connections alive.
var accepted atomic.Int64

func countConn(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		accepted.Add(1)
	}
}

// listenTargets starts n HTTP servers on 127.0.0.1 and returns their
// addresses and a function that stops them.
func listenTargets(n int) (addrs []string, stop func(), err error) {
	var servers []*http.Server
	stop = func() {
		for _, s := range servers {
			s.Close()
		}
	}
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("listen for target %d: %w", i, err)
		}
		s := &http.Server{Handler: targetHandler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute, ConnState: countConn}
		servers = append(servers, s)
		go s.Serve(l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, stop, nil
}

// serveTargets is the child process's whole job: serve n targets, print
// their addresses, and exit when the parent closes stdin (or dies).
func serveTargets(n int) error {
	addrs, stop, err := listenTargets(n)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Println(strings.Join(addrs, " "))
	_, err = io.Copy(io.Discard, os.Stdin)
	fmt.Println(accepted.Load())
	return err
}

// targetProcess is a child process serving the targets, so that its CPU
// time is measured apart from the scheduler's.
type targetProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	addrs  []string
}

func startTargetProcess(ctx context.Context, n int) (*targetProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-serve-targets", strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &targetProcess{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout)}
	line, err := p.stdout.ReadString('\n')
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("target process: %w", err)
	}
	p.addrs = strings.Fields(line)
	if len(p.addrs) != n {
		p.stop()
		return nil, fmt.Errorf("target process gave %d addresses, want %d", len(p.addrs), n)
	}
	return p, nil
}

// cpuSeconds returns the child's user+system CPU time.
func (p *targetProcess) cpuSeconds() (float64, error) {
	d, err := stats.Host.CPU(p.cmd.Process.Pid)
	return d.Seconds(), err
}

// stop closes the child's stdin, which ends it, and kills it (by its own
// PID) if it has not exited within two seconds. It returns the number of
// connections the targets accepted, or -1.
func (p *targetProcess) stop() int64 {
	p.stdin.Close()
	conns := int64(-1)
	done := make(chan struct{})
	go func() {
		if line, err := p.stdout.ReadString('\n'); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64); err == nil {
				conns = n
			}
		}
		p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	return conns
}
