package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// errNoNSD means nsd is not installed; the run goes on without it.
var errNoNSD = errors.New("nsd not installed")

// startNSD writes the data set as a zone file and an nsd.conf into the
// work dir and starts NSD in the foreground (-d) pinned to the server CPU.
func (h *harness) startNSD(ctx context.Context) (*target, error) {
	bin, err := exec.LookPath("nsd")
	if err != nil {
		return nil, errNoNSD
	}
	dir := filepath.Join(h.dir, "nsd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	zoneFile := filepath.Join(dir, "zone")
	f, err := os.Create(zoneFile)
	if err != nil {
		return nil, err
	}
	err = writeZone(f, h.ds)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	port, err := testkit.FreePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(conf, []byte(nsdConfig(dir, "127.0.0.1", port, h.ds.Domain, zoneFile)), 0o644); err != nil {
		return nil, err
	}
	t := &target{name: nameNSD, addr: loopback(port), port: port}
	h.logf("starting NSD (DNS %s) on CPU %d", t.addr, h.cfg.ServerCPU)
	if t.child, err = h.procs.start("nsd", h.cfg.ServerCPU, h.cfg.Nice, h.dir, os.Environ(), bin, "-d", "-c", conf); err != nil {
		return nil, err
	}
	if err := h.waitReady(ctx, t); err != nil {
		return nil, fmt.Errorf("%w (NSD's own log: %s)", err, filepath.Join(dir, "nsd.log"))
	}
	return t, nil
}
