// Package beaconbin builds the beacon binary for the load and soak
// commands, and gives them an environment beacon cannot read flags from.
package beaconbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// buildTimeout bounds one build, a cold module cache included.
const buildTimeout = 5 * time.Minute

// Build compiles beacon's cmd/beacon, as the module holding the working
// directory resolves it (the harness module points it at this checkout),
// into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a beacon checkout: run from it, or pass -beacon")
	}
	bin := filepath.Join(dir, "beacon")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/beacon-dns/beacon/cmd/beacon")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/beacon: %w\n%s", err, out)
	}
	return bin, nil
}

// CleanEnv is this process's environment without BEACON_* and
// CONSUL_HTTP_* variables, so that a setting of the caller's cannot change
// what is measured: beacon serve reads BEACON_* as flags, and its client
// commands read CONSUL_HTTP_*.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BEACON_") || strings.HasPrefix(kv, "CONSUL_HTTP_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
