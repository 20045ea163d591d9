package main

import (
	"context"
	"runtime"
	"time"
)

// quietWindow is how long the machine must stay quiet before a measured
// span starts.
const quietWindow = 2 * time.Second

// waitQuiet waits, up to limit, until processes other than beacon (pid)
// and apiload have used less than share of the machine's CPU over
// quietWindow. beacon and the load generator share the machine with
// whatever else runs; other work there takes CPU and disk from both, and
// its bursts would show up as beacon's. When the machine stays busy it
// goes on after limit, saying so; the report shows the share measured.
func (b *bench) waitQuiet(ctx context.Context, pid int, what string) error {
	share, limit := b.cfg.quiet, b.cfg.quietWait
	if share <= 0 || share >= 1 {
		return nil
	}
	deadline := time.Now().Add(limit)
	cpus := runtime.NumCPU()
	for waited := false; ; waited = true {
		m := startCPUMeter(pid)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(quietWindow):
		}
		u := m.stop(quietWindow)
		got := u.OthersShare(cpus)
		if !u.Known || got < share {
			if waited {
				b.logf("%s: other processes now use %.0f%% of the CPU; going on", what, 100*got)
			}
			return nil
		}
		if time.Now().After(deadline) {
			b.logf("%s: other processes still use %.0f%% of the CPU after %v; measuring anyway (the report shows their share)", what, 100*got, limit)
			return nil
		}
		if !waited {
			b.logf("%s: other processes use %.0f%% of the CPU; waiting up to %v for under %.0f%%", what, 100*got, limit, 100*share)
		}
	}
}
