package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ledger records what beacon acknowledged: per instance ID, the states
// beacon may hold for it. An answered write leaves exactly one state; a
// write that got no answer leaves two, the one before it and the one it
// asked for, since it may or may not have reached the disk.
type ledger struct {
	mu    sync.Mutex
	state map[string][]*agentService // a nil element means absent
}

func newLedger() *ledger { return &ledger{state: map[string][]*agentService{}} }

// begin notes a write about to be sent.
func (l *ledger) begin(id string, next *agentService) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.state[id]
	if !ok {
		cur = []*agentService{nil}
	}
	l.state[id] = append(cur, next)
}

// ack notes that beacon answered 200: the write is durable.
func (l *ledger) ack(id string, next *agentService) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state[id] = []*agentService{next}
}

// refuse notes that beacon answered an error: the write changed nothing.
func (l *ledger) refuse(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.state[id]
	l.state[id] = cur[:len(cur)-1]
}

// acked counts the instances that must be present.
func (l *ledger) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, states := range l.state {
		if len(states) == 1 && states[0] != nil {
			n++
		}
	}
	return n
}

// present reports whether id must be present: its one possible state is
// a registration.
func (l *ledger) present(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	states := l.state[id]
	return len(states) == 1 && states[0] != nil
}

// unanswered counts the writes that got no answer and are not settled.
func (l *ledger) unanswered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, states := range l.state {
		if len(states) > 1 {
			n++
		}
	}
	return n
}

// verify reads every instance back from beacon and fails t for any that
// is not in a state the ledger allows, or that beacon holds and nothing
// ever wrote. A write that got no answer is settled to what beacon shows,
// which is now on disk. It reports whether everything matched.
func (l *ledger) verify(ctx context.Context, t *testing.T, c *apiClient) bool {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	all, err := c.services(ctx)
	if err != nil {
		t.Fatalf("listing instances: %v", err)
	}
	bad := 0
	for id := range all {
		if _, ok := l.state[id]; !ok {
			bad++
			t.Errorf("instance %q is present but was never written", id)
		}
	}
	ids := make([]string, 0, len(l.state))
	for id := range l.state {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	shown := 0
	for _, id := range ids {
		states := l.state[id]
		got, err := c.service(ctx, id)
		if err != nil {
			t.Fatalf("reading %s: %v", id, err)
		}
		i := slices.IndexFunc(states, got.equal)
		if i < 0 || !got.equal(all[id]) {
			if bad++; shown < 10 {
				shown++
				listed := ""
				if !got.equal(all[id]) {
					listed = " but is listed as " + describe(all[id])
				}
				t.Errorf("instance %s reads back as %s%s; acknowledged: %s", id, describe(got), listed, describeAll(states))
			}
			continue
		}
		l.state[id] = []*agentService{got}
	}
	if bad > shown {
		t.Errorf("... %d instances in all differ from what was acknowledged", bad)
	}
	return bad == 0
}

func describeAll(states []*agentService) string {
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = describe(s)
	}
	return strings.Join(parts, " or ")
}

// writers run concurrent clients that register, update and deregister
// instances and record every answer in a ledger.
type writers struct {
	c    *apiClient
	l    *ledger
	acks atomic.Int64
	// stopping is set before beacon is stopped on purpose; a write that
	// fails before that is a test failure.
	stopping atomic.Bool
	// owned holds, per writer, the IDs it created and may still change.
	owned [][]string
	errs  chan error
}

func newWriters(n int, l *ledger) *writers {
	return &writers{l: l, owned: make([][]string, n), errs: make(chan error, n)}
}

// run starts every writer against c for at most maxOps writes each and
// returns a function that waits for all of them. Call it after the ledger
// is verified: a deregistration left unanswered by a kill may have taken
// effect, and a writer must then not remove that instance again.
func (w *writers) run(ctx context.Context, c *apiClient, round, maxOps int) (wait func()) {
	w.c = c
	w.stopping.Store(false)
	for i := range w.owned {
		w.owned[i] = slices.DeleteFunc(w.owned[i], func(id string) bool { return !w.l.present(id) })
	}
	var wg sync.WaitGroup
	for i := range w.owned {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
			for n := 0; n < maxOps && ctx.Err() == nil; n++ {
				if !w.step(ctx, rng, i, fmt.Sprintf("crash-r%d-w%d-%d", round, i, n)) {
					return
				}
			}
		}()
	}
	return wg.Wait
}

// step sends one write: a new instance, a change to one of the writer's
// instances, or a deregistration. It reports whether to go on.
func (w *writers) step(ctx context.Context, rng *rand.Rand, i int, newID string) bool {
	owned := w.owned[i]
	id, next := newID, (*agentService)(nil)
	var send func() error
	switch r := rng.IntN(10); {
	case r < 6 || len(owned) == 0:
		reg := randomRegistration(rng, newID, i)
		next, send = reg.expected(), func() error { return w.c.register(ctx, reg) }
	case r < 8:
		id = owned[rng.IntN(len(owned))]
		reg := randomRegistration(rng, id, i)
		next, send = reg.expected(), func() error { return w.c.register(ctx, reg) }
	default:
		id = owned[rng.IntN(len(owned))]
		send = func() error { return w.c.deregister(ctx, id) }
	}
	w.l.begin(id, next)
	err := send()
	if ae := (*apiError)(nil); errors.As(err, &ae) {
		w.l.refuse(id)
	}
	if err != nil {
		if !w.stopping.Load() {
			w.errs <- fmt.Errorf("write of %s failed while beacon was running: %w", id, err)
		}
		return false
	}
	w.l.ack(id, next)
	w.acks.Add(1)
	switch {
	case id == newID:
		w.owned[i] = append(owned, id)
	case next == nil:
		w.owned[i] = slices.DeleteFunc(owned, func(s string) bool { return s == id })
	}
	return true
}

// failures reports the writes that failed while beacon was meant to run.
func (w *writers) failures(t *testing.T) {
	t.Helper()
	for {
		select {
		case err := <-w.errs:
			t.Error(err)
		default:
			return
		}
	}
}

// waitAcks waits until the writers have n acknowledgements in total, or
// the timeout passes.
func (w *writers) waitAcks(n int64, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for w.acks.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

var (
	crashNames = []string{"alpha", "Beta", "gamma-2"}
	crashTags  = []string{"primary", "v1", "v2", "canary", "zone-a"}
)

// randomRegistration is a registration of id by writer i with random
// fields, each valid.
func randomRegistration(rng *rand.Rand, id string, i int) registration {
	var tags []string
	for _, tag := range crashTags {
		if rng.IntN(2) == 0 {
			tags = append(tags, tag)
		}
	}
	meta := map[string]string{"writer": fmt.Sprint(i), "nonce": fmt.Sprint(rng.Uint32())}
	if rng.IntN(2) == 0 {
		meta["note"] = strings.Repeat("x", 1+rng.IntN(400))
	}
	return registration{
		ID: id, Name: crashNames[rng.IntN(len(crashNames))],
		Address: fmt.Sprintf("10.%d.%d.%d", i, rng.IntN(256), 1+rng.IntN(254)),
		Port:    1 + rng.IntN(65535), Tags: tags, Meta: meta,
		Weights: &weights{Passing: 1 + rng.IntN(100), Warning: 1 + rng.IntN(100)},
	}
}
