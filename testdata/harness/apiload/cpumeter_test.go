package main

import (
	"os"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

func TestOthersShare(t *testing.T) {
	tests := []struct {
		use  cpuUse
		cpus int
		want float64
	}{
		{cpuUse{Wall: time.Second, Others: 500 * time.Millisecond, Known: true}, 2, 0.25},
		{cpuUse{Wall: time.Second, Others: 500 * time.Millisecond}, 2, 0}, // not known
		{cpuUse{Others: time.Second, Known: true}, 2, 0},                  // no span
	}
	for _, tt := range tests {
		if got := tt.use.OthersShare(tt.cpus); got != tt.want {
			t.Errorf("%+v.OthersShare(%d) = %v, want %v", tt.use, tt.cpus, got, tt.want)
		}
	}
}

// TestCPUMeterSeesOwnWork: CPU burnt by this process over a span is
// counted as its own, not as the others'.
func TestCPUMeterSeesOwnWork(t *testing.T) {
	start := time.Now()
	m := startCPUMeter(os.Getpid())
	// Work until 100 ms of CPU are used, however busy the machine is.
	for time.Since(start) < 10*time.Second {
		if cpu, err := stats.Host.CPU(os.Getpid()); err != nil || cpu-m.self >= 100*time.Millisecond {
			break
		}
	}
	u := m.stop(time.Since(start))
	if !u.Known || u.Server < 100*time.Millisecond || u.Self < 100*time.Millisecond {
		t.Errorf("100ms of work measured as %+v", u)
	}
}
