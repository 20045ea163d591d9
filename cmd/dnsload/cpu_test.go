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
