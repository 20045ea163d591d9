package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a running `beacon serve`.
type proc struct {
	t        testing.TB
	cmd      *exec.Cmd
	stderr   *syncBuffer
	dnsAddr  string
	httpAddr string
	baseURL  string
	http     *http.Client
	done     chan struct{} // closed when the process has exited
	exitCode int
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of exec.Cmd
// and the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveOpts are the extras of one test server.
type serveOpts struct {
	args []string
	env  []string
	// caFile makes the readiness probe trust this CA and use https.
	caFile string
}

// cleanEnv is the test's environment without variables that would change
// what beacon does.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BEACON_") && !strings.HasPrefix(kv, "CONSUL_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// freePorts returns a port free for TCP and UDP on 127.0.0.1 and another
// free for TCP. Another process may take them before beacon binds them;
// startBeacon retries then.
func freePorts(t testing.TB) (dns, http int) {
	t.Helper()
	for range 50 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			tl.Close()
			continue
		}
		hl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		http = hl.Addr().(*net.TCPAddr).Port
		tl.Close()
		ul.Close()
		hl.Close()
		return port, http
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0, 0
}

// startBeacon runs `beacon serve` on dataDir with free ports and waits
// until /healthz answers 200. It retries when a port was taken meanwhile.
func startBeacon(t testing.TB, dataDir string, o serveOpts) *proc {
	t.Helper()
	for attempt := 0; ; attempt++ {
		p := launch(t, dataDir, o)
		err := p.waitReady(20 * time.Second)
		if err == nil {
			return p
		}
		if attempt < 5 && strings.Contains(p.stderr.String(), "address already in use") {
			continue
		}
		p.kill()
		t.Fatalf("beacon did not become ready: %v\nstderr:\n%s", err, p.stderr)
	}
}

// launch starts the process without waiting for it.
func launch(t testing.TB, dataDir string, o serveOpts) *proc {
	t.Helper()
	dnsPort, httpPort := freePorts(t)
	p := &proc{t: t, stderr: &syncBuffer{}, done: make(chan struct{}),
		dnsAddr:  fmt.Sprintf("127.0.0.1:%d", dnsPort),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", httpPort),
		http:     &http.Client{Timeout: 5 * time.Second},
	}
	p.baseURL = "http://" + p.httpAddr
	if o.caFile != "" {
		p.baseURL = "https://" + p.httpAddr
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		p.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	args := append([]string{"serve", "-data-dir", dataDir, "-dns-addr", p.dnsAddr, "-http-addr", p.httpAddr,
		"-node", "e2e", "-log-level", "debug"}, o.args...)
	p.cmd = exec.Command(beaconBin, args...)
	p.cmd.Env = cleanEnv(o.env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.exitCode = p.cmd.ProcessState.ExitCode()
		if err != nil && p.exitCode == 0 {
			p.exitCode = -1
		}
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// waitReady polls /healthz until it answers 200, the process exits or
// the deadline passes.
func (p *proc) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("exited with code %d", p.exitCode)
		default:
		}
		resp, err := p.http.Get(p.baseURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("timed out")
}

// stop sends sig and returns the exit code, failing the test if the
// process outlives limit.
func (p *proc) stop(sig syscall.Signal, limit time.Duration) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	return p.wait(limit)
}

// wait returns the exit code once the process ends within limit.
func (p *proc) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.exitCode
	case <-time.After(limit):
		p.kill()
		p.t.Fatalf("beacon still running %s after the signal\nstderr:\n%s", limit, p.stderr)
		return -1
	}
}

// kill ends the process if it still runs; only this test's process.
func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// do sends a request to the process's API.
func (p *proc) do(ctx context.Context, method, path, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.baseURL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	return p.http.Do(req)
}

// runBinary runs beacon with args to completion and returns its exit code
// and output.
func runBinary(t testing.TB, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBin, args...)
	cmd.Env = cleanEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("beacon %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errb.String()
}
