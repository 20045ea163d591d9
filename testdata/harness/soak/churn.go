package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// Ports of churn instances: churnPortLo + seq mod churnPortSpan.
	churnPortLo   = 20000
	churnPortSpan = 10000
	// churnServices is how many services the churn instances spread over,
	// so that answers stay the size of real services' answers.
	churnServices = 20
	// churnWorkers bounds the writes in flight.
	churnWorkers = 8
)

// churn registers instances at a steady rate and deregisters the oldest
// once more than live are registered, so the catalog keeps changing at
// about twice the rate while its size stays flat.
type churn struct {
	api  *apiClient
	rate float64 // registrations per second
	live int

	registered   atomic.Int64
	deregistered atomic.Int64
	errors       atomic.Int64

	mu        sync.Mutex
	fifo      []string                 // acknowledged instances, oldest first
	want      map[string]*agentService // what the catalog must hold
	uncertain map[string]bool          // writes that failed: either state
	errs      []string
	latency   latencyHist // of answered writes
}

func newChurn(api *apiClient, rate float64, live int) *churn {
	return &churn{api: api, rate: rate, live: live, want: map[string]*agentService{}, uncertain: map[string]bool{}}
}

// churnJob is one write; dereg is empty for a registration.
type churnJob struct {
	reg   registration
	dereg string
}

// run writes until ctx ends. Writes in flight then are finished (each
// bounded by apiTimeout), so that every one has an answer to check.
func (c *churn) run(ctx context.Context, duration time.Duration) {
	jobs := make(chan churnJob, churnWorkers)
	var wg sync.WaitGroup
	for w := 0; w < churnWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					continue // not sent: it changes nothing
				}
				c.do(j)
			}
		}()
	}
	defer wg.Wait()
	defer close(jobs)
	interval := time.Duration(float64(time.Second) / c.rate)
	limit := int(duration/interval) + 1
	start := time.Now()
	for seq := 0; seq < limit; seq++ {
		if !pace(ctx, start.Add(time.Duration(seq+1)*interval)) {
			return
		}
		for _, j := range c.next(seq) {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}
}

// next is the work of one tick: a registration, and the deregistration
// of the oldest instance when more than live are registered.
func (c *churn) next(seq int) []churnJob {
	jobs := []churnJob{{reg: churnRegistration(seq)}}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.fifo) > c.live {
		jobs = append(jobs, churnJob{dereg: c.fifo[0]})
		c.fifo = c.fifo[1:]
	}
	return jobs
}

func (c *churn) do(j churnJob) {
	ctx := context.Background() // a write once sent is seen through
	start := time.Now()
	if j.dereg != "" {
		err := c.api.deregister(ctx, j.dereg)
		c.record(j.dereg, nil, err, &c.deregistered, time.Since(start))
		return
	}
	err := c.api.register(ctx, j.reg)
	c.record(j.reg.ID, j.reg.expected(), err, &c.registered, time.Since(start))
}

func (c *churn) record(id string, next *agentService, err error, ok *atomic.Int64, took time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.errors.Add(1)
		c.uncertain[id] = true
		if len(c.errs) < maxErrs {
			c.errs = append(c.errs, err.Error())
		}
		return
	}
	ok.Add(1)
	c.latency.observe(took)
	if next == nil {
		delete(c.want, id)
		return
	}
	c.want[id] = next
	c.fifo = append(c.fifo, id)
}

// verify compares the catalog's churn instances with the acknowledged
// writes and returns one line per difference.
func (c *churn) verify(ctx context.Context) ([]string, error) {
	all, err := c.api.services(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var diffs []string
	for id, got := range all {
		if !strings.HasPrefix(id, soakPrefix+"churn-") || c.uncertain[id] {
			continue
		}
		if want, ok := c.want[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s present, but its deregistration was acknowledged", id))
		} else if !want.equal(got) {
			diffs = append(diffs, fmt.Sprintf("%s is %s, but %s was acknowledged", id, describe(got), describe(want)))
		}
	}
	for id := range c.want {
		if _, ok := all[id]; !ok && !c.uncertain[id] {
			diffs = append(diffs, fmt.Sprintf("%s absent, but its registration was acknowledged", id))
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}

// liveCount is the number of churn instances the catalog must hold.
func (c *churn) liveCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.want)
}

// churnRegistration is the seq-th churn instance; every third carries a
// passing TTL check, so checks come and go with instances.
func churnRegistration(seq int) registration {
	r := registration{
		ID: fmt.Sprintf(soakPrefix+"churn-%d", seq), Name: churnService(seq),
		Address: fmt.Sprintf("10.200.%d.%d", seq/250%250, 1+seq%250),
		Port:    churnPortLo + seq%churnPortSpan,
		Tags:    []string{"churn", fmt.Sprintf("gen-%d", seq%4)},
		Meta:    map[string]string{"seq": fmt.Sprint(seq)},
	}
	if seq%3 == 0 {
		r.Check = &checkDef{TTL: "5m", Status: "passing"}
	}
	return r
}

// churnService is the service of the i-th churn instance.
func churnService(i int) string { return fmt.Sprintf(soakPrefix+"churn-svc-%d", i%churnServices) }

// describe shows a service for a report, long metadata values cut
// short; nil is absent.
func describe(s *agentService) string {
	if s == nil {
		return "absent"
	}
	keys := make([]string, 0, len(s.Meta))
	for k := range s.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	meta := make([]string, len(keys))
	for i, k := range keys {
		v := s.Meta[k]
		if len(v) > 16 {
			v = fmt.Sprintf("%s…(%d bytes)", v[:8], len(v))
		}
		meta[i] = k + "=" + v
	}
	return fmt.Sprintf("{%s %s %s:%d tags %v meta {%s} weights %d/%d}", s.ID, s.Service, s.Address, s.Port,
		s.Tags, strings.Join(meta, " "), s.Weights.Passing, s.Weights.Warning)
}
