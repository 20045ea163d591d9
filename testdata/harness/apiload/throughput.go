package main

import (
	"context"
	"fmt"
	"time"
)

// throughputServices is how many services phase 1 spreads its
// registrations over.
const throughputServices = 100

// throughputRow is phase 1 at one concurrency.
type throughputRow struct {
	Clients int
	Res     loadResult
	Commits float64 // bolt commits during the run, each one fsync'd transaction
	Use     cpuUse
}

// PerCommit is registrations per commit (the group commit's batch size).
func (r throughputRow) PerCommit() float64 {
	if r.Commits == 0 {
		return 0
	}
	return float64(r.Res.N) / r.Commits
}

// CommitsPerReg is commits ("fsyncs") per registration.
func (r throughputRow) CommitsPerReg() float64 {
	if r.Res.N == 0 {
		return 0
	}
	return r.Commits / float64(r.Res.N)
}

// throughput is phase 1: durable registrations/s at each concurrency,
// each on a fresh beacon so that every level starts from the same state.
func (b *bench) throughput(ctx context.Context) ([]throughputRow, error) {
	var rows []throughputRow
	for _, n := range b.cfg.clients {
		row, err := b.throughputAt(ctx, n)
		if err != nil {
			return rows, fmt.Errorf("phase 1, %d clients: %w", n, err)
		}
		b.logf("phase 1: %3d clients: %d registrations in %.1fs: %.0f/s, %.3f commits/registration, p50 %v p99 %v; CPU beacon %v apiload %v others %v",
			n, row.Res.N, row.Res.Elapsed.Seconds(), rate(row.Res.N, row.Res.Elapsed), row.CommitsPerReg(), row.Res.Lat.P50, row.Res.Lat.P99,
			row.Use.Server, row.Use.Self, row.Use.Others)
		rows = append(rows, row)
	}
	return rows, nil
}

func (b *bench) throughputAt(ctx context.Context, n int) (throughputRow, error) {
	s, err := b.server(ctx, fmt.Sprintf("throughput-%d", n))
	if err != nil {
		return throughputRow{}, err
	}
	defer b.release(s)
	c := newClient(s.Addr, n+2)
	defer c.close()
	prefix := fmt.Sprintf("%st%d-", b.run, n)
	services := serviceNames(prefix, throughputServices)
	// Warm up: open the n connections and run every code path once, so
	// that the measured run sees neither dials nor first-use costs.
	warm := load{prefix: prefix + "w", services: services, clients: n, count: 8 * n, until: time.Now().Add(30 * time.Second)}
	if _, err := runLoad(ctx, c, warm); err != nil {
		return throughputRow{}, fmt.Errorf("warm-up: %w", err)
	}
	return measureQuietly(ctx, b, s.PID, fmt.Sprintf("phase 1, %d clients", n), func(attempt int) (throughputRow, cpuUse, error) {
		before, err := c.metric(ctx, commitCount)
		if err != nil {
			return throughputRow{}, cpuUse{}, err
		}
		meter := startCPUMeter(s.PID)
		l := load{prefix: fmt.Sprintf("%sa%d-", prefix, attempt), services: services, clients: n, count: b.cfg.maxRegs,
			until: time.Now().Add(b.cfg.duration)}
		res, err := runLoad(ctx, c, l)
		if err != nil {
			return throughputRow{}, cpuUse{}, err
		}
		use := meter.stop(res.Elapsed)
		after, err := c.metric(ctx, commitCount)
		if err != nil {
			return throughputRow{}, cpuUse{}, err
		}
		return throughputRow{Clients: n, Res: res, Commits: after - before, Use: use}, use, nil
	})
}

// serviceNames are the n services of a run.
func serviceNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%ssvc-%04d", prefix, i)
	}
	return out
}
