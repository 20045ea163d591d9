// Package stats reads what the harness commands measure: figures of
// processes and of the machine from /proc, through prometheus/procfs, and
// samples of beacon's /metrics, through prometheus/common/expfmt.
package stats

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/procfs"
)

// Proc is a proc file system, named by where it is mounted.
type Proc string

// Host is this machine's own /proc.
const Host Proc = procfs.DefaultMountPoint

func (p Proc) fs() (procfs.FS, error) { return procfs.NewFS(string(p)) }

func (p Proc) proc(pid int) (procfs.Proc, error) {
	fs, err := p.fs()
	if err != nil {
		return procfs.Proc{}, err
	}
	return fs.Proc(pid)
}

// seconds turns procfs's float seconds into a Duration, rounded to the
// millisecond: the kernel counts in ticks of 10 ms, and the rounding drops
// what the float arithmetic adds.
func seconds(s float64) time.Duration { return time.Duration(math.Round(s*1e3)) * time.Millisecond }

// CPU is the user plus system CPU time that process pid has used.
func (p Proc) CPU(pid int) (time.Duration, error) {
	pr, err := p.proc(pid)
	if err != nil {
		return 0, err
	}
	st, err := pr.Stat()
	if err != nil {
		return 0, err
	}
	return seconds(st.CPUTime()), nil
}

// Memory is a process's resident memory, in bytes.
type Memory struct {
	RSS  uint64 // VmRSS
	Anon uint64 // RssAnon; 0 on kernels before 4.5
	File uint64 // RssFile; likewise
	Peak uint64 // VmHWM, the highest RSS so far
}

// Memory reads process pid's resident memory.
func (p Proc) Memory(pid int) (Memory, error) {
	pr, err := p.proc(pid)
	if err != nil {
		return Memory{}, err
	}
	st, err := pr.NewStatus()
	if err != nil {
		return Memory{}, err
	}
	if st.VmRSS == 0 {
		return Memory{}, fmt.Errorf("%s/%d/status: no VmRSS", p, pid)
	}
	return Memory{RSS: st.VmRSS, Anon: st.RssAnon, File: st.RssFile, Peak: st.VmHWM}, nil
}

// OpenFiles counts the file descriptors process pid has open.
func (p Proc) OpenFiles(pid int) (int, error) {
	pr, err := p.proc(pid)
	if err != nil {
		return 0, err
	}
	return pr.FileDescriptorsLen()
}

// GroupCPU is the CPU time used so far by the live processes of process
// group pgid: a server and, for a forking one like NSD, its children.
func (p Proc) GroupCPU(pgid int) (time.Duration, error) {
	fs, err := p.fs()
	if err != nil {
		return 0, err
	}
	procs, err := fs.AllProcs()
	if err != nil {
		return 0, err
	}
	var sum float64
	found := false
	for _, pr := range procs {
		st, err := pr.Stat()
		if err != nil {
			continue // ended meanwhile
		}
		if st.PGRP == pgid {
			sum += st.CPUTime()
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("no process in group %d", pgid)
	}
	return seconds(sum), nil
}

// MachineBusy is the CPU time all CPUs have spent busy: every state of
// the "cpu" line but idle and iowait (guest time is inside user already).
func (p Proc) MachineBusy() (time.Duration, error) {
	fs, err := p.fs()
	if err != nil {
		return 0, err
	}
	st, err := fs.Stat()
	if err != nil {
		return 0, err
	}
	c := st.CPUTotal
	return seconds(c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal), nil
}

// LoadAverage is the 1-minute load average.
func (p Proc) LoadAverage() (float64, error) {
	fs, err := p.fs()
	if err != nil {
		return 0, err
	}
	la, err := fs.LoadAvg()
	if err != nil {
		return 0, err
	}
	return la.Load1, nil
}

// CPUModel is the model name of the first CPU, or "unknown CPU".
func (p Proc) CPUModel() string {
	fs, err := p.fs()
	if err != nil {
		return "unknown CPU"
	}
	cpus, err := fs.CPUInfo()
	if err != nil || len(cpus) == 0 || cpus[0].ModelName == "" {
		return "unknown CPU"
	}
	return cpus[0].ModelName
}

// UDPDrops is what the kernel has dropped so far for want of receive
// buffer space: on the IPv4 UDP sockets bound to port, and on every UDP
// socket of the network namespace of process pid.
func (p Proc) UDPDrops(pid, port int) (onPort, all uint64, err error) {
	fs, err := p.fs()
	if err != nil {
		return 0, 0, err
	}
	sockets, err := fs.NetUDP()
	if err != nil {
		return 0, 0, err
	}
	for _, s := range sockets {
		if s.LocalPort == uint64(port) && s.Drops != nil {
			onPort += *s.Drops
		}
	}
	pr, err := fs.Proc(pid)
	if err != nil {
		return 0, 0, err
	}
	snmp, err := pr.Snmp()
	if err != nil {
		return 0, 0, err
	}
	if snmp.Udp.RcvbufErrors == nil {
		return 0, 0, errors.New("no Udp RcvbufErrors counter in net/snmp")
	}
	return onPort, uint64(*snmp.Udp.RcvbufErrors), nil
}
