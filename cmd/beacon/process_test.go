package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// TestMain removes the binaries the tests built. The end-to-end tests run
// in parallel: most of their time is the binary waiting on something (a
// check interval, the data dir lock's timeout, a shutdown), which overlaps.
func TestMain(m *testing.M) { testkit.Main(m) }

// proc is a running `beacon serve` of one test, with the requests the
// tests make of it.
type proc struct {
	*testkit.Beacon
	t testing.TB
}

// startBeacon runs `beacon serve` on dataDir, on ports it picks itself,
// and waits until it serves.
func startBeacon(t testing.TB, dataDir string, o testkit.Options) *proc {
	t.Helper()
	return &proc{testkit.Serve(t, serveOptions(dataDir, o)), t}
}

// launch starts `beacon serve` on dataDir without waiting for it.
func launch(t testing.TB, dataDir string, o testkit.Options) *proc {
	t.Helper()
	return &proc{testkit.Spawn(t, serveOptions(dataDir, o)), t}
}

// serveOptions logs at debug level, which the tests read, and names the
// node, which some of them assert.
func serveOptions(dataDir string, o testkit.Options) testkit.Options {
	o.DataDir = dataDir
	o.Args = append([]string{"-node", "e2e", "-log-level", "debug"}, o.Args...)
	return o
}

// stop sends sig and returns the exit code, failing the test if the
// process outlives limit.
func (p *proc) stop(sig syscall.Signal, limit time.Duration) int {
	p.t.Helper()
	code, err := p.Stop(sig, limit)
	if err != nil {
		p.t.Fatalf("%v\nlog:\n%s", err, p.Log())
	}
	return code
}

// wait returns the exit code once the process ends within limit.
func (p *proc) wait(limit time.Duration) int {
	p.t.Helper()
	code, err := p.Wait(limit)
	if err != nil {
		p.Kill()
		p.t.Fatalf("%v\nlog:\n%s", err, p.Log())
	}
	return code
}

// do sends a request to the process's API.
func (p *proc) do(ctx context.Context, method, path, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	return p.Client.Do(req)
}

// runBinary runs beacon with args to completion and returns its exit code
// and output. It runs the binary without the race detector: dozens of
// short runs cannot afford the detector's start-up, and the in-process
// CLI tests cover the client code under -race.
func runBinary(t testing.TB, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testkit.PlainBinary(t), args...)
	cmd.Env = testkit.CleanEnv(env...)
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
