package testkit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Defaults of Options.
const (
	// DefaultReadyTimeout bounds a start: a race-detector binary on a busy
	// machine takes a few seconds, a healthy one milliseconds.
	DefaultReadyTimeout = 20 * time.Second
	// logKeep is how much of a process's output is kept, the tail.
	logKeep = 1 << 20
)

// Options describe one server process. The zero value of each field is its
// default.
type Options struct {
	// Bin is the beacon binary. Serve and Spawn default to Binary; Start
	// and Launch require it.
	Bin string
	// DataDir is -data-dir. Serve and Spawn default to a t.TempDir; Start
	// and Launch require it unless Command is set.
	DataDir string
	// DNSAddr is -dns-addr. Default 127.0.0.1:0; a port of 0 is learned
	// from the start-up log, so no other process can take it meanwhile.
	DNSAddr string
	// HTTPAddr is -http-addr. Default 127.0.0.1:0, learned likewise.
	HTTPAddr string
	// Args are further flags of serve, after the ones above. The start-up
	// log must stay at level info or below when a port is 0.
	Args []string
	// Env is added to CleanEnv.
	Env []string
	// CAFile is a PEM CA that the API's TLS certificate is signed by; with
	// it, Beacon.URL is https and Beacon.Client trusts that CA. Default:
	// plain HTTP.
	CAFile string
	// Command replaces the whole command line, for a stand-in server
	// that logs "http listening" as beacon does; Bin, DataDir, the
	// addresses and Args are then unused. Default: beacon serve.
	Command []string
	// ReadyTimeout bounds the wait for readiness. Default
	// DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// Beacon is one server process started by Launch, Start, Spawn or Serve.
// It runs in a process group of its own, so a Ctrl-C at a terminal reaches
// only the test or tool that started it, and it is killed when that
// process dies, so that it can never outlive it.
type Beacon struct {
	// DataDir, DNSAddr and HTTPAddr are where it serves; the addresses
	// are final once WaitReady has returned nil.
	DataDir, DNSAddr, HTTPAddr string
	// URL is http:// or https:// and HTTPAddr, final with it.
	URL string
	// Client is an HTTP client for the API, trusting Options.CAFile.
	Client *http.Client

	opts    Options
	cmd     *exec.Cmd
	log     *logWriter
	done    chan struct{} // closed once the process has exited
	state   *os.ProcessState
	waitErr error
}

// Launch starts the process and returns at once; WaitReady waits for it to
// serve.
func Launch(o Options) (*Beacon, error) {
	if o.DNSAddr == "" {
		o.DNSAddr = "127.0.0.1:0"
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = "127.0.0.1:0"
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	argv := o.Command
	if argv == nil {
		if o.Bin == "" || o.DataDir == "" {
			return nil, errors.New("testkit: Options need Bin and DataDir to start beacon")
		}
		argv = append([]string{o.Bin, "serve", "-data-dir", o.DataDir,
			"-dns-addr", o.DNSAddr, "-http-addr", o.HTTPAddr}, o.Args...)
	}
	b := &Beacon{DataDir: o.DataDir, DNSAddr: o.DNSAddr, HTTPAddr: o.HTTPAddr, opts: o,
		Client: &http.Client{Timeout: 10 * time.Second}, log: newLogWriter(logKeep), done: make(chan struct{})}
	if o.Command != nil {
		b.DNSAddr = ""
	}
	scheme := "http"
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("testkit: no certificate in %s", o.CAFile)
		}
		b.Client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		scheme = "https"
	}
	b.URL = scheme + "://" + b.HTTPAddr
	b.cmd = exec.Command(argv[0], argv[1:]...)
	b.cmd.Env = CleanEnv(o.Env...)
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	go func() {
		b.waitErr = b.cmd.Wait()
		b.state = b.cmd.ProcessState
		close(b.done)
	}()
	return b, nil
}

// Start launches the process and waits until it serves; a process that
// does not is killed, and the error carries the end of its log.
func Start(ctx context.Context, o Options) (*Beacon, error) {
	b, err := Launch(o)
	if err != nil {
		return nil, err
	}
	if err := b.WaitReady(ctx); err != nil {
		b.Kill()
		return nil, err
	}
	return b, nil
}

// WaitReady waits until the process has logged the addresses it bound
// (where a port was 0) and its /healthz answers 200, and fails when it
// exits first or the ready timeout passes.
func (b *Beacon) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.ReadyTimeout)
	defer cancel()
	if portZero(b.DNSAddr) || portZero(b.HTTPAddr) {
		select {
		case <-b.log.listening:
		case <-b.done:
			return fmt.Errorf("%s exited before it served (%v):\n%s", b.name(), b.state, LastLines(b.Log(), 20))
		case <-ctx.Done():
			return fmt.Errorf("%s logged no \"http listening\" within %s:\n%s", b.name(), b.opts.ReadyTimeout, LastLines(b.Log(), 20))
		}
		dns, http := b.log.addrs()
		if portZero(b.DNSAddr) && dns != "" {
			b.DNSAddr = dns
		}
		if portZero(b.HTTPAddr) {
			b.HTTPAddr = http
			b.URL = strings.SplitAfter(b.URL, "://")[0] + http
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := b.healthz(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-b.done:
			return fmt.Errorf("%s exited before it served (%v):\n%s", b.name(), b.state, LastLines(b.Log(), 20))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready within %s: %w\n%s", b.name(), b.opts.ReadyTimeout, err, LastLines(b.Log(), 20))
		case <-tick.C:
		}
	}
}

func (b *Beacon) healthz(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %s", resp.Status)
	}
	return nil
}

func (b *Beacon) name() string {
	return fmt.Sprintf("%s (pid %d)", b.cmd.Path, b.PID())
}

func portZero(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}

// PID is the process ID.
func (b *Beacon) PID() int { return b.cmd.Process.Pid }

// Log is what the process has written to stdout and stderr, its last MiB.
func (b *Beacon) Log() string { return b.log.String() }

// Exited reports whether the process has ended.
func (b *Beacon) Exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to end by itself and returns
// its exit code, -1 for an end by a signal.
func (b *Beacon) Wait(timeout time.Duration) (int, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-b.done:
		return b.state.ExitCode(), nil
	case <-t.C:
		return 0, fmt.Errorf("%s still running after %s", b.name(), timeout)
	}
}

// Stop sends sig and waits up to timeout for the process to exit, then
// returns its exit code. A process still running then is killed, and the
// error says so.
func (b *Beacon) Stop(sig syscall.Signal, timeout time.Duration) (int, error) {
	if b.Exited() {
		return b.state.ExitCode(), nil
	}
	if err := b.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return 0, err
	}
	code, err := b.Wait(timeout)
	if err != nil {
		b.Kill()
		return code, fmt.Errorf("after %v: %w; killed", sig, err)
	}
	return code, nil
}

// Kill ends the process with SIGKILL, as a crash or the OOM killer would,
// and returns once it is gone and its data dir's lock released.
func (b *Beacon) Kill() {
	if b.Exited() {
		return
	}
	_ = b.cmd.Process.Kill()
	<-b.done
}

// Spawn launches beacon for t without waiting for it to serve, with
// Binary and a t.TempDir as defaults. At cleanup the process is killed if
// still running, and t fails if its log shows a crash.
func Spawn(t testing.TB, o Options) *Beacon {
	t.Helper()
	if o.Bin == "" && o.Command == nil {
		o.Bin = Binary(t)
	}
	if o.DataDir == "" && o.Command == nil {
		o.DataDir = t.TempDir()
	}
	b, err := Launch(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Kill()
		if Crashed(b.Log()) {
			t.Errorf("%s crashed:\n%s", b.name(), FirstLines(b.Log(), 40))
		}
	})
	return b
}

// Serve is Spawn that also waits for beacon to serve, failing t if it
// does not.
func Serve(t testing.TB, o Options) *Beacon {
	t.Helper()
	b := Spawn(t, o)
	if err := b.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

// Crashed reports whether a Go program's output shows a panic or a fatal
// runtime error.
func Crashed(output string) bool {
	return strings.Contains(output, "panic: ") || strings.Contains(output, "fatal error: ") ||
		strings.Contains(output, "\ngoroutine ")
}

// FirstLines is the first n lines of s.
func FirstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// LastLines is the last n non-empty lines of s.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
