package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// sample is the server's resource use at one moment; -1 means unknown
// (no PID or data dir for a server started elsewhere).
type sample struct {
	RSS        int64         // bytes resident (VmRSS)
	FDs        int           // open file descriptors
	Goroutines int           // go_goroutines from beacon's /metrics
	StoreBytes int64         // size of beacon.db
	CPU        time.Duration // user+system time used so far; -1 unknown
	At         time.Time
}

// takeSample reads what it can; a value it cannot read stays -1.
func takeSample(ctx context.Context, api *apiClient, pid int, dataDir string) sample {
	s := sample{RSS: -1, FDs: -1, Goroutines: -1, StoreBytes: -1, CPU: -1, At: time.Now()}
	if pid > 0 {
		if cpu, err := stats.Host.CPU(pid); err == nil {
			s.CPU = cpu
		}
		if m, err := stats.Host.Memory(pid); err == nil {
			s.RSS = int64(m.RSS)
		}
		if fds, err := stats.Host.OpenFiles(pid); err == nil {
			s.FDs = fds
		}
	}
	if g, err := api.metric(ctx, "go_goroutines"); err == nil {
		s.Goroutines = int(g)
	}
	if dataDir != "" {
		if fi, err := os.Stat(filepath.Join(dataDir, "beacon.db")); err == nil {
			s.StoreBytes = fi.Size()
		}
	}
	return s
}
