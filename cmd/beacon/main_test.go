package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The binaries the end-to-end tests run, built once by TestMain.
var (
	// beaconBin runs `beacon serve`; under -race it has the race
	// detector too, so the tests catch races in the wiring.
	beaconBin string
	// cliBin runs the short-lived commands. It is built without the race
	// detector, whose start-up costs about a second per run here, which
	// dozens of CLI runs cannot afford; the in-process CLI tests cover
	// the client code under -race.
	cliBin string
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "beacon-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	beaconBin = filepath.Join(dir, "beacon")
	cliBin = beaconBin
	builds := []chan error{build(beaconBin, raceEnabled)}
	if raceEnabled {
		cliBin = filepath.Join(dir, "beacon-cli")
		builds = append(builds, build(cliBin, false))
	}
	var errs []error
	for _, b := range builds {
		errs = append(errs, <-b)
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "building beacon:", err)
		return 1
	}
	return m.Run()
}

// build runs `go build` of this package into out in the background.
func build(out string, race bool) chan error {
	args := []string{"build", "-o", out, "-ldflags", "-X main.version=v0.0.0-e2e"}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	return done
}
