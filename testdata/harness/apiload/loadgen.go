package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// load is one bounded registration run: at most count registrations,
// none started after until.
type load struct {
	prefix   string   // ID prefix, unique per run
	services []string // services the instances are spread over, round robin
	clients  int      // concurrent clients, each with its own connection
	count    int
	until    time.Time
	step     int // report per this many completions; 0 for none
	// onStep, if set, is called by the client that completes step k
	// (from 0), as that step ends.
	onStep func(k int)
}

// loadResult is what a run did.
type loadResult struct {
	N       int
	Elapsed time.Duration
	Lat     summary
	Steps   []stepResult
}

// stepResult is one step of a run: the step-th block of completions.
type stepResult struct {
	Upto    int // instances of the run registered at the end of the step
	N       int
	Elapsed time.Duration
	Lat     summary
	CPU     time.Duration // beacon's CPU time during the step; 0 if unknown
}

// CPUPerReg is beacon's CPU time per registration in the step.
func (s stepResult) CPUPerReg() time.Duration {
	if s.N == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.N)
}

type sample struct {
	i int // the registration's number in the run
	d time.Duration
}

// runLoad registers instances with l.clients concurrent keep-alive
// clients, each sending its next registration as soon as the previous one
// was answered. The first failure stops the run and is returned.
func runLoad(ctx context.Context, c *client, l load) (loadResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	nsteps := 0
	if l.step > 0 {
		nsteps = (l.count + l.step - 1) / l.step
	}
	// stamps[k] is when the (k+1)*step-th registration completed; each
	// is written by exactly one worker and read after Wait.
	stamps := make([]time.Time, nsteps)
	perWorker := make([][]sample, l.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range l.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= l.count || time.Now().After(l.until) {
					return
				}
				body := registration(make([]byte, 0, 192), l.prefix, i, l.services[i%len(l.services)])
				t := time.Now()
				if err := c.register(ctx, body); err != nil {
					cancel(fmt.Errorf("registration %d of %s: %w", i, l.prefix, err))
					return
				}
				now := time.Now()
				perWorker[w] = append(perWorker[w], sample{i, now.Sub(t)})
				if d := int(done.Add(1)); l.step > 0 && d%l.step == 0 {
					stamps[d/l.step-1] = now
					if l.onStep != nil {
						l.onStep(d/l.step - 1)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return loadResult{}, err
	}
	return collect(perWorker, l.step, start, stamps, start.Add(elapsed)), nil
}

// collect merges the workers' samples into the run's and its steps'
// summaries. A step that did not finish ends at end.
func collect(perWorker [][]sample, step int, start time.Time, stamps []time.Time, end time.Time) loadResult {
	var all []time.Duration
	var bySteps [][]time.Duration
	for _, ss := range perWorker {
		for _, s := range ss {
			all = append(all, s.d)
			if step > 0 {
				k := s.i / step
				for len(bySteps) <= k {
					bySteps = append(bySteps, nil)
				}
				bySteps[k] = append(bySteps[k], s.d)
			}
		}
	}
	res := loadResult{N: len(all), Elapsed: end.Sub(start), Lat: summarize(all)}
	prev := start
	for k, lat := range bySteps {
		stop := end
		if k < len(stamps) && !stamps[k].IsZero() {
			stop = stamps[k]
		}
		res.Steps = append(res.Steps, stepResult{Upto: min((k+1)*step, len(all)), N: len(lat), Elapsed: stop.Sub(prev), Lat: summarize(lat)})
		prev = stop
	}
	return res
}
