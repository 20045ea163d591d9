package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseMetric finds the unlabelled sample name (such as go_goroutines) in
// a Prometheus text exposition.
func parseMetric(body []byte, name string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: %w", name, err)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no sample %s in /metrics", name)
}

// clockTick is the unit of /proc/PID/stat times: USER_HZ, 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

var errStat = errors.New("/proc/PID/stat: unexpected format")

// parseStatCPU is utime+stime of a /proc/PID/stat line.
func parseStatCPU(stat []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses; utime and stime are fields 14 and 15, so 11 and
	// 12 after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errStat
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, errStat
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	limit := int64(math.MaxInt64 / clockTick / 2)
	if err1 != nil || err2 != nil || utime < 0 || stime < 0 || utime > limit || stime > limit {
		return 0, errStat
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// parseStatusRSS is VmRSS of /proc/PID/status, in bytes.
func parseStatusRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil || kb < 0 || kb > math.MaxInt64>>10 {
			return 0, fmt.Errorf("/proc/PID/status: VmRSS %q is not a size in kB", rest)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("/proc/PID/status has no VmRSS")
}
