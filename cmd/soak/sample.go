package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sample is the server's resource use at one moment; -1 means unknown
// (no PID or data dir for a server started elsewhere).
type sample struct {
	RSS        int64 // bytes resident, from /proc/PID/status
	FDs        int   // open file descriptors, from /proc/PID/fd
	Goroutines int   // go_goroutines from beacon's /metrics
	StoreBytes int64 // size of beacon.db
}

// takeSample reads what it can; a value it cannot read stays -1.
func takeSample(ctx context.Context, api *apiClient, pid int, dataDir string) sample {
	s := sample{RSS: -1, FDs: -1, Goroutines: -1, StoreBytes: -1}
	if pid > 0 {
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

// readRSS is VmRSS of /proc/PID/status, in bytes.
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}
