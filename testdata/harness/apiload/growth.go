package main

import (
	"context"
	"fmt"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// flatTolerance is how far (as a fraction) any step's rate may fall below
// the median step's for the per-registration cost to count as flat.
const flatTolerance = 0.25

// growthResult is phase 2: registrations/s per step as the catalog grows,
// then beacon's memory with everything registered.
type growthResult struct {
	Target   int // instances asked for
	Services int
	Clients  int
	Res      loadResult
	Mem      stats.Memory // zero when the PID is unknown
	Heap     float64      // go_memstats_heap_inuse_bytes, from /metrics
	Use      cpuUse
}

// Rates are the steps' registrations/s.
func (g growthResult) Rates() []float64 {
	var out []float64
	for _, s := range g.Res.Steps {
		out = append(out, rate(s.N, s.Elapsed))
	}
	return out
}

// CPUs are beacon's CPU time per registration, step by step; nil when
// it was not measured.
func (g growthResult) CPUs() []float64 {
	var out []float64
	for _, s := range g.Res.Steps {
		if s.CPU <= 0 {
			return nil
		}
		out = append(out, float64(s.CPUPerReg()))
	}
	return out
}

// Flat reports whether no step ran more than flatTolerance slower than
// the median step and (when measured) none cost beacon more than
// flatTolerance more CPU per registration than the median step, with the
// ratio of the last step's rate to the first's.
func (g growthResult) Flat() (bool, float64) {
	r := g.Rates()
	if len(r) < 2 {
		return false, 0
	}
	ratio := r[len(r)-1] / r[0]
	med := median(r)
	for _, v := range r {
		if v < (1-flatTolerance)*med {
			return false, ratio
		}
	}
	cpu := g.CPUs()
	med = median(cpu)
	for _, v := range cpu {
		if v > (1+flatTolerance)*med {
			return false, ratio
		}
	}
	return true, ratio
}

// stepCPU gives each step the CPU beacon used during it, from the
// readings at the start, at each step's end (at; zero where none was
// taken) and at the end of the run (end, for a last step that did not
// fill up).
func stepCPU(steps []stepResult, start time.Duration, at []time.Duration, end time.Duration) {
	prev := start
	for k := range steps {
		cur := end
		if k < len(at) && at[k] != 0 {
			cur = at[k]
		} else if k != len(steps)-1 {
			return
		}
		steps[k].CPU = cur - prev
		prev = cur
	}
}

// Complete reports whether every instance asked for was registered.
func (g growthResult) Complete() bool { return g.Res.N >= g.Target }

// growth is phase 2 on s, which must start empty for the figures to mean
// growth from zero (with -addr it grows from whatever is there).
func (b *bench) growth(ctx context.Context, s *server, tag string) (growthResult, error) {
	cfg := b.cfg
	c := newClient(s.Addr, cfg.growClients+2)
	defer c.close()
	prefix := b.run + tag
	l := load{prefix: prefix, services: serviceNames(prefix, cfg.growServices), clients: cfg.growClients,
		count: cfg.instances, until: time.Now().Add(cfg.growTimeout), step: cfg.step}
	// beacon's CPU time at the end of each step, for its cost per
	// registration step by step.
	cpuAt := make([]time.Duration, (cfg.instances+cfg.step-1)/cfg.step)
	if s.PID != 0 {
		l.onStep = func(k int) { cpuAt[k], _ = stats.Host.CPU(s.PID) }
	}
	meter := startCPUMeter(s.PID)
	res, err := runLoad(ctx, c, l)
	if err != nil {
		return growthResult{}, fmt.Errorf("phase 2: %w", err)
	}
	if s.PID != 0 {
		end, _ := stats.Host.CPU(s.PID)
		stepCPU(res.Steps, meter.server, cpuAt, end)
	}
	g := growthResult{Target: cfg.instances, Services: cfg.growServices, Clients: cfg.growClients, Res: res, Use: meter.stop(res.Elapsed)}
	b.logf("phase 2: %d registrations in %.1fs; CPU beacon %v apiload %v others %v", res.N, res.Elapsed.Seconds(), g.Use.Server, g.Use.Self, g.Use.Others)
	for _, st := range res.Steps {
		b.logf("phase 2: up to %6d: %.0f/s, p50 %v p99 %v, beacon CPU %v/registration", st.Upto, rate(st.N, st.Elapsed), st.Lat.P50, st.Lat.P99, st.CPUPerReg())
	}
	if g.Heap, err = c.metric(ctx, heapInuse); err != nil {
		return g, err
	}
	if s.PID != 0 {
		if g.Mem, err = stats.Host.Memory(s.PID); err != nil {
			return g, err
		}
		b.logf("phase 2: %d instances: VmRSS %.1f MB (anon %.1f, file %.1f), Go heap in use %.1f MB",
			res.N, mb(g.Mem.RSS), mb(g.Mem.Anon), mb(g.Mem.File), mb(uint64(g.Heap)))
	}
	return g, nil
}

// mb is bytes in MB (10^6), as RSS figures are usually quoted.
func mb(b uint64) float64 { return float64(b) / 1e6 }

// loaded is phase 2, each attempt on a fresh beacon, then (with phase 3)
// the watcher rounds on the last beacon, which holds the same catalog as
// the attempt kept.
func (b *bench) loaded(ctx context.Context, res *results) error {
	var last *server
	defer func() {
		if last != nil {
			b.release(last)
		}
	}()
	g, err := measureQuietly(ctx, b, 0, "phase 2", func(attempt int) (growthResult, cpuUse, error) {
		if last != nil {
			b.release(last)
			last = nil
		}
		s, err := b.server(ctx, fmt.Sprintf("growth-%d", attempt))
		if err != nil {
			return growthResult{}, cpuUse{}, err
		}
		last = s
		g, err := b.growth(ctx, s, fmt.Sprintf("g%d-", attempt))
		return g, g.Use, err
	})
	res.Growth = &g
	if err != nil || !b.phase(3) {
		return err
	}
	label := b.catalogLabel(fmt.Sprintf("%s instances in %s services", thousands(float64(g.Res.N)), thousands(float64(g.Services))))
	w, err := b.watchers(ctx, last, "w1-", label)
	res.Watch = append(res.Watch, w...)
	return err
}
