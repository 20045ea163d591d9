package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// sample is the server's resource use at one moment; -1 means unknown
// (no PID or data dir for a server started elsewhere).
type sample struct {
	RSS        int64         // bytes resident, from /proc/PID/status
	FDs        int           // open file descriptors, from /proc/PID/fd
	Goroutines int           // go_goroutines from beacon's /metrics
	StoreBytes int64         // size of beacon.db
	CPU        time.Duration // user+system time used so far; -1 unknown
	At         time.Time
}

// takeSample reads what it can; a value it cannot read stays -1.
func takeSample(ctx context.Context, api *apiClient, pid int, dataDir string) sample {
	s := sample{RSS: -1, FDs: -1, Goroutines: -1, StoreBytes: -1, CPU: -1, At: time.Now()}
	if pid > 0 {
		if cpu, err := readCPU(pid); err == nil {
			s.CPU = cpu
		}
		if rss, err := readRSS(pid); err == nil {
			s.RSS = rss
		}
		if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
			s.FDs = len(fds)
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

// readCPU is utime+stime of /proc/PID/stat.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// readRSS is VmRSS of /proc/PID/status, in bytes.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusRSS(b)
}
