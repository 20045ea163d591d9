package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of CPU times in /proc/<pid>/stat (USER_HZ), 100 Hz
// on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// groupCPU is the CPU time (user and system) used so far by the live
// processes of process group pgid: the server and, for NSD, its children.
// Dividing what a server used during a run by the run's length tells
// whether it had its CPU to itself; dividing the queries it answered by it
// gives a rate per CPU-second that other load on the machine cannot skew.
func groupCPU(pgid int) (time.Duration, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var ticks int64
	found := false
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // ended meanwhile
		}
		pgrp, t, err := parseStat(data)
		if err != nil {
			return 0, fmt.Errorf("/proc/%s/stat: %w", e.Name(), err)
		}
		if pgrp == pgid {
			ticks += t
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("no process in group %d", pgid)
	}
	return time.Duration(ticks) * clockTick, nil
}

// parseStat reads the process group and utime+stime (in ticks) from the
// contents of /proc/<pid>/stat. The command name, in parentheses, may hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseStat(data []byte) (pgrp int, ticks int64, err error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, errors.New("no command name")
	}
	// After ')': state(3) ppid(4) pgrp(5) ... utime(14) stime(15).
	f := bytes.Fields(data[i+1:])
	if len(f) < 13 {
		return 0, 0, errors.New("too few fields")
	}
	if pgrp, err = strconv.Atoi(string(f[2])); err != nil {
		return 0, 0, err
	}
	for _, k := range []int{11, 12} {
		n, err := strconv.ParseInt(string(f[k]), 10, 64)
		if err != nil {
			return 0, 0, err
		}
		ticks += n
	}
	return pgrp, ticks, nil
}
