package main

import (
	"syscall"
	"testing"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// TestMain removes the binary the tests built. The tests that run beacon
// run in parallel, each on its own data dir and ports: their load is
// bounded and light next to what the two CPUs give, so they share them
// without changing what each checks.
func TestMain(m *testing.M) { testkit.Main(m) }

// serve starts beacon on dataDir for the test with extra flags and waits
// until it serves; cleanup kills it if the test has not stopped it, and
// fails the test if it ever crashed. It runs the binary without the race
// detector, whose slowdown would change the timing these tests provoke.
func serve(t *testing.T, dataDir string, extra ...string) *testkit.Beacon {
	t.Helper()
	return testkit.Serve(t, options(t, dataDir, extra...))
}

// spawn starts beacon like serve but does not wait for it.
func spawn(t *testing.T, dataDir string, extra ...string) *testkit.Beacon {
	t.Helper()
	return testkit.Spawn(t, options(t, dataDir, extra...))
}

func options(t *testing.T, dataDir string, extra ...string) testkit.Options {
	return testkit.Options{Bin: testkit.PlainBinary(t), DataDir: dataDir, Args: append([]string{"-node", "soak"}, extra...)}
}

// terminate stops p with SIGTERM and returns its exit code.
func terminate(p *testkit.Beacon) (int, error) {
	return p.Stop(syscall.SIGTERM, stopTimeout)
}

// noCrash fails the test if p's output shows a panic or fatal error, and
// reports whether it did not.
func noCrash(t *testing.T, p *testkit.Beacon) bool {
	t.Helper()
	if out := p.Log(); testkit.Crashed(out) {
		t.Errorf("beacon (pid %d) crashed:\n%s", p.PID(), testkit.FirstLines(out, 20))
		return false
	}
	return true
}
