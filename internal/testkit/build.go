package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// beaconPackage is the program Build compiles. Naming it by import path
// rather than by directory lets the same call work from the main module and
// from a module that replaces beacon with this checkout.
const beaconPackage = "github.com/beacon-dns/beacon/cmd/beacon"

// Version is what `beacon version` reports for the binaries that Binary and
// PlainBinary build, so tests can tell them from a release.
const Version = "v0.0.0-test"

// buildTimeout bounds one build, a cold build cache included.
const buildTimeout = 5 * time.Minute

// BuildOptions are the variations of one build of beacon.
type BuildOptions struct {
	// Race builds with the race detector. Default: without.
	Race bool
	// Version is stamped into the binary as its version. Default: none,
	// so the binary reports the module's own.
	Version string
}

// Build compiles beacon's cmd/beacon into the file out. It must run inside
// a module that holds beacon or replaces it with a checkout, as the main
// module and the harness module do.
func Build(ctx context.Context, out string, o BuildOptions) error {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	if m := strings.TrimSpace(string(gomod)); m == "" || m == os.DevNull {
		return errors.New("building beacon needs a beacon checkout: run from inside it, or name a built binary")
	}
	args := []string{"build", "-o", out}
	if o.Race {
		args = append(args, "-race")
	}
	if o.Version != "" {
		args = append(args, "-ldflags", "-X main.version="+o.Version)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, beaconPackage)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", beaconPackage, err, b)
	}
	return nil
}

// The binaries of this test process, each built on first use, so that
// unit tests and fuzz workers, which never run one, never wait for a build.
var builds struct {
	mu          sync.Mutex
	dir         string
	race, plain binaryBuild
}

type binaryBuild struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the beacon binary of this test process, built on first
// use. It has the race detector when the tests run with it, so that
// end-to-end tests catch races in the wiring too. A package that calls it
// runs its tests through Main, which removes the binary afterwards.
func Binary(t testing.TB) string {
	t.Helper()
	return binary(t, &builds.race, raceEnabled)
}

// PlainBinary returns a beacon binary without the race detector, built on
// first use: its start costs about a second under the detector, which
// tests running it dozens of times, or measuring it, cannot afford.
func PlainBinary(t testing.TB) string {
	t.Helper()
	if !raceEnabled {
		return Binary(t)
	}
	return binary(t, &builds.plain, false)
}

func binary(t testing.TB, b *binaryBuild, race bool) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := buildDir()
		if err != nil {
			b.err = err
			return
		}
		name := "beacon"
		if race {
			name = "beacon-race"
		}
		path := filepath.Join(dir, name)
		if b.err = Build(context.Background(), path, BuildOptions{Race: race, Version: Version}); b.err == nil {
			b.path = path
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func buildDir() (string, error) {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "beacon-testkit-")
		if err != nil {
			return "", err
		}
		builds.dir = dir
	}
	return builds.dir, nil
}

// Main runs m's tests and then removes the binaries they built; call it
// from TestMain in a package whose tests use Binary or PlainBinary.
func Main(m *testing.M) {
	code := m.Run()
	builds.mu.Lock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	builds.mu.Unlock()
	os.Exit(code)
}
