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

// measureQuietly runs measure after waiting for a quiet machine, and
// again (up to b.cfg.attempts in all) while other processes used more
// than b.cfg.maxOthers of the CPU during the measurement. It keeps the
// attempt they disturbed least: the choice rests on the interference
// measured, never on the result.
func measureQuietly[T any](ctx context.Context, b *bench, pid int, what string, measure func(attempt int) (T, cpuUse, error)) (T, error) {
	var best T
	bestShare := -1.0
	cpus := runtime.NumCPU()
	for attempt := 1; ; attempt++ {
		if err := b.waitQuiet(ctx, pid, what); err != nil {
			return best, err
		}
		v, use, err := measure(attempt)
		if err != nil {
			return v, err
		}
		share := use.OthersShare(cpus)
		if bestShare < 0 || share < bestShare {
			best, bestShare = v, share
		}
		if !use.Known || share <= b.cfg.maxOthers {
			return best, nil
		}
		if attempt >= b.cfg.attempts {
			b.logf("%s: other processes used %.0f%% of the CPU during every attempt; keeping the least disturbed (%.0f%%)", what, 100*share, 100*bestShare)
			return best, nil
		}
		b.logf("%s: other processes used %.0f%% of the CPU during the measurement; measuring again (attempt %d of %d)", what, 100*share, attempt+1, b.cfg.attempts)
	}
}
