package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// beaconBin is the beacon binary built once for every test here.
var beaconBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "beacon-soak-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	beaconBin, err = buildBeacon(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// serve starts beacon on dataDir for the test; cleanup kills it if the
// test has not stopped it, and fails the test if it ever crashed.
func serve(t *testing.T, dataDir string, extra ...string) *beaconProc {
	t.Helper()
	p, err := startBeacon(t.Context(), beaconBin, dataDir, extra...)
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

// noCrash fails the test if p's output shows a panic or fatal error.
func noCrash(t *testing.T, p *beaconProc) bool {
	t.Helper()
	if out := p.Stderr(); crashTrace(out) {
		t.Errorf("beacon (pid %d) crashed:\n%s", p.PID(), firstLines(out, 20))
		return false
	}
	return true
}
