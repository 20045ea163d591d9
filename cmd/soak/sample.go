package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// clockTick is the unit of /proc/PID/stat times: USER_HZ, 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// readCPU is utime+stime of /proc/PID/stat.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, so 11 and 12 after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
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
