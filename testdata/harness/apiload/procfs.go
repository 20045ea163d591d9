package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// memory is a process's resident memory from /proc/PID/status.
type memory struct {
	RSS, Anon, File uint64 // bytes: VmRSS, RssAnon, RssFile
}

// readMemory reads pid's resident memory.
func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	return parseStatus(b)
}

// parseStatus takes VmRSS, RssAnon and RssFile ("Key:\t  123 kB") from a
// /proc/PID/status text. VmRSS is required; kernels before 4.5 lack the
// split, which then reads as zero.
func parseStatus(text []byte) (memory, error) {
	var m memory
	found := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch key {
		case "VmRSS":
			dst, found = &m.RSS, true
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		default:
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return memory{}, fmt.Errorf("/proc status: unexpected %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("/proc status: %s: %w", key, err)
		}
		*dst = kb << 10
	}
	if !found {
		return memory{}, fmt.Errorf("/proc status: no VmRSS line")
	}
	return m, nil
}

// clockTick is USER_HZ, the unit of /proc/PID/stat times; 100 on every
// Linux architecture Go supports.
const clockTick = 100

// readCPU returns the user plus system CPU time pid has used.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// parseStat takes utime+stime from a /proc/PID/stat line. The command
// name (field 2) is in parentheses and may hold spaces, so fields are
// counted from the last ')'.
func parseStat(text []byte) (time.Duration, error) {
	s := string(text)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no command field in %q", s)
	}
	f := strings.Fields(s[i+1:])
	// After the command: state(3) ... utime(14) stime(15), so utime is
	// the 12th field here (index 11).
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the command, want at least 13", len(f))
	}
	var ticks uint64
	for _, v := range f[11:13] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
		ticks += n
	}
	// A year of CPU time is far beyond any run; more is a misread.
	if ticks > 365*24*3600*clockTick {
		return 0, fmt.Errorf("/proc stat: implausible CPU time of %d ticks", ticks)
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// readMachineBusy returns the CPU time all CPUs have spent busy (every
// state of /proc/stat's "cpu" line but idle and iowait; guest time is
// already inside user).
func readMachineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineBusy(b)
}

func parseMachineBusy(text []byte) (time.Duration, error) {
	line, _, _ := strings.Cut(string(text), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy uint64
	// user nice system idle iowait irq softirq steal [guest guest_nice]
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / clockTick, nil
}

// cpuMeter measures, over a span, the CPU time beacon used, this process
// used, and everything else on the machine used: other work on a shared
// machine takes CPU from beacon and the load generator both, so the
// report says how much there was.
type cpuMeter struct {
	pid                   int
	machine, server, self time.Duration
	ok                    bool
}

// cpuUse is what a cpuMeter measured.
type cpuUse struct {
	Wall, Server, Self, Others time.Duration
	Known                      bool // false if any figure could not be read
}

// OthersShare is the other processes' CPU as a share of the whole
// machine over the span.
func (u cpuUse) OthersShare(cpus int) float64 {
	if !u.Known || u.Wall <= 0 || cpus <= 0 {
		return 0
	}
	return max(0, u.Others.Seconds()/(u.Wall.Seconds()*float64(cpus)))
}

func startCPUMeter(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid}
	m.machine, m.server, m.self, m.ok = cpuNow(pid)
	return m
}

func cpuNow(pid int) (machine, server, self time.Duration, ok bool) {
	var err1, err2, err3 error
	machine, err1 = readMachineBusy()
	// Without a PID (no beacon yet, or -addr without -pid) beacon's CPU
	// cannot be told apart and counts as the others'.
	if pid != 0 {
		server, err2 = readCPU(pid)
	}
	self, err3 = readCPU(os.Getpid())
	return machine, server, self, err1 == nil && err2 == nil && err3 == nil
}

// stop returns the use since start over wall time wall.
func (m *cpuMeter) stop(wall time.Duration) cpuUse {
	machine, server, self, ok := cpuNow(m.pid)
	u := cpuUse{Wall: wall, Server: server - m.server, Self: self - m.self, Known: ok && m.ok}
	// The machine's busy time is sampled per tick while a process's is
	// accounted per scheduling, so on a quiet machine the difference can
	// dip below zero; it means none.
	u.Others = max(0, (machine-m.machine)-u.Server-u.Self)
	return u
}
