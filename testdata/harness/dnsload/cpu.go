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

// udpDrops is what the kernel has dropped so far for want of receive
// buffer space: on the UDP sockets bound to port (the server's), and on
// all UDP sockets of the machine. The difference over a run, less the
// server's share, is what dnsperf's own sockets dropped: a lost query is
// then the client's loss, not the server's.
func udpDrops(port int) (server, all int64, err error) {
	data, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0, 0, err
	}
	if server, err = socketDrops(data, port); err != nil {
		return 0, 0, err
	}
	snmp, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, 0, err
	}
	all, err = snmpCounter(snmp, "Udp:", "RcvbufErrors")
	return server, all, err
}

// socketDrops sums the drops column of the sockets of a /proc/net/udp
// table whose local port is port.
func socketDrops(table []byte, port int) (int64, error) {
	want := fmt.Sprintf(":%04X", port)
	var sum int64
	for i, line := range bytes.Split(table, []byte("\n")) {
		f := bytes.Fields(line)
		if i == 0 || len(f) < 13 || !bytes.HasSuffix(f[1], []byte(want)) {
			continue
		}
		n, err := strconv.ParseInt(string(f[len(f)-1]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("drops of %s: %w", f[1], err)
		}
		sum += n
	}
	return sum, nil
}

// snmpCounter reads one counter from /proc/net/snmp, where each protocol
// has a line of names followed by a line of values.
func snmpCounter(snmp []byte, proto, name string) (int64, error) {
	var names [][]byte
	for line := range bytes.SplitSeq(snmp, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 0 || string(f[0]) != proto {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if string(n) == name && i < len(f) {
				return strconv.ParseInt(string(f[i]), 10, 64)
			}
		}
		break
	}
	return 0, fmt.Errorf("no %s %s counter", proto, name)
}
