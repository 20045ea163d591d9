package main

import (
	"os"
	"syscall"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name  string
		stat  string
		pgrp  int
		ticks int64
		ok    bool
	}{
		{"plain", "1735 (cat) R 1730 1730 10915 0 -1 4194304 100 0 0 0 7 5 0 0 20 0 1 0", 1730, 12, true},
		// A command name may hold spaces and parentheses.
		{"odd name", "42 (nsd: server (1) x) S 1 40 40 0 -1 0 0 0 0 0 300 45 0 0 20 0 1 0", 40, 345, true},
		{"truncated", "42 (x) S 1 40", 0, 0, false},
		{"no name", "42 x S 1 40 40 0 -1 0 0 0 0 0 3 4", 0, 0, false},
		{"bad number", "42 (x) S 1 40 40 0 -1 0 0 0 0 0 three 4 0", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pgrp, ticks, err := parseStat([]byte(tc.stat))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if tc.ok && (pgrp != tc.pgrp || ticks != tc.ticks) {
				t.Errorf("pgrp %d ticks %d, want %d %d", pgrp, ticks, tc.pgrp, tc.ticks)
			}
		})
	}
}

// TestGroupCPU reads this test's own process group, which holds at least
// this process.
func TestGroupCPU(t *testing.T) {
	pgid, err := syscall.Getpgid(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groupCPU(pgid); err != nil {
		t.Errorf("groupCPU(own group %d): %v", pgid, err)
	}
	if _, err := groupCPU(1 << 30); err == nil {
		t.Error("groupCPU of a group with no process: no error")
	}
}

func TestUDPDropCounters(t *testing.T) {
	table := []byte(`   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  338: 0100007F:8BBC 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 370022 2 000000002e15f61a 17
  339: 0100007F:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 370023 2 000000002e15f61b 5
  340: 00000000:8BBC 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 370024 2 000000002e15f61c 3
`)
	for port, want := range map[int]int64{0x8BBC: 20, 0x1F90: 5, 53: 0} {
		got, err := socketDrops(table, port)
		if err != nil || got != want {
			t.Errorf("socketDrops(port %d) = %d, %v; want %d", port, got, err, want)
		}
	}
	snmp := []byte("Ip: Forwarding DefaultTTL\nIp: 1 64\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 133328331 456 68419 133405290 68411 0\nUdpLite: InDatagrams RcvbufErrors\nUdpLite: 0 9\n")
	if n, err := snmpCounter(snmp, "Udp:", "RcvbufErrors"); err != nil || n != 68411 {
		t.Errorf("Udp RcvbufErrors = %d, %v; want 68411", n, err)
	}
	if _, err := snmpCounter(snmp, "Udp:", "Missing"); err == nil {
		t.Error("a missing counter gave no error")
	}
	if _, _, err := udpDrops(1); err != nil {
		t.Errorf("udpDrops on this machine: %v", err)
	}
}
