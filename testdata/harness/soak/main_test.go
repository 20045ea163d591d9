package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/beacon-dns/beacon/testdata/harness/internal/beaconbin"
)

// The beacon binary, built once for the tests that run it (and not for
// unit tests and fuzz workers, which have no need of it).
var (
	buildDir   string
	buildOnce  sync.Once
	builtBin   string
	buildError error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if buildDir, err = os.MkdirTemp("", "beacon-soak-test"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(buildDir)
	return m.Run()
}

// beaconBin builds cmd/beacon on first use and returns the binary.
func beaconBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() { builtBin, buildError = beaconbin.Build(context.Background(), buildDir) })
	if buildError != nil {
		t.Fatal(buildError)
	}
	return builtBin
}

// serve starts beacon on dataDir for the test; cleanup kills it if the
// test has not stopped it, and fails the test if it ever crashed.
func serve(t *testing.T, dataDir string, extra ...string) *beaconProc {
	t.Helper()
	p, err := startBeacon(t.Context(), beaconBin(t), dataDir, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.kill()
		noCrash(t, p)
	})
	return p
}

// firstLines is the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// noCrash fails the test if p's output shows a panic or fatal error, and
// reports whether it did not.
func noCrash(t *testing.T, p *beaconProc) bool {
	t.Helper()
	if out := p.Stderr(); crashTrace(out) {
		t.Errorf("beacon (pid %d) crashed:\n%s", p.PID(), firstLines(out, 20))
		return false
	}
	return true
}
