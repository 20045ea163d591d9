package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fsyncResult is the cost of one small durable write on the filesystem
// of beacon's data dir, the floor under a durable registration.
type fsyncResult struct {
	N      int
	Lat    summary
	TmpFS  bool // the data dir is on tmpfs, where fsync costs nothing
	FSType int64
}

// probeFsync writes 4 KiB at the start of a file in dir and fdatasyncs
// it, n times after a few unmeasured ones (the first allocate blocks),
// and summarizes write+fdatasync. bbolt commits the same way: pwrite of
// dirty pages, then fdatasync.
func probeFsync(dir string, n int) (fsyncResult, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fsyncResult{}, fmt.Errorf("statfs %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return fsyncResult{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	const unmeasured = 5
	lat := make([]time.Duration, 0, n)
	for i := range n + unmeasured {
		buf[i%len(buf)]++
		t := time.Now()
		if _, err := f.WriteAt(buf, 0); err != nil {
			return fsyncResult{}, err
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return fsyncResult{}, fmt.Errorf("fdatasync %s: %w", f.Name(), err)
		}
		if i >= unmeasured {
			lat = append(lat, time.Since(t))
		}
	}
	return fsyncResult{N: n, Lat: summarize(lat), TmpFS: int64(st.Type) == unix.TMPFS_MAGIC, FSType: int64(st.Type)}, nil
}

// raiseNoFile makes sure this process may hold need descriptors (each
// blocked watcher holds a connection), raising the soft RLIMIT_NOFILE up
// to the hard limit if needed. Go already raises it at start on Linux;
// this also covers runs where that was not possible.
func raiseNoFile(need uint64) (uint64, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= need {
		return lim.Cur, nil
	}
	if lim.Max < need {
		return lim.Cur, fmt.Errorf("need %d file descriptors but the hard limit is %d; raise it (ulimit -Hn) or use fewer -watchers", need, lim.Max)
	}
	lim.Cur = lim.Max
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", lim.Cur, err)
	}
	return lim.Cur, nil
}
