package main

import (
	"os"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

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
	machine, err1 = stats.Host.MachineBusy()
	// Without a PID (no beacon yet, or -addr without -pid) beacon's CPU
	// cannot be told apart and counts as the others'.
	if pid != 0 {
		server, err2 = stats.Host.CPU(pid)
	}
	self, err3 = stats.Host.CPU(os.Getpid())
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
