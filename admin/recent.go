package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// recentSize is how many changes the status page lists.
const recentSize = 100

// change is one line of the status page's list of recent changes.
type change struct {
	At    time.Time
	Index uint64
	ID    string
	What  string
}

// recent is a ring of the latest changes, newest last.
type recent struct {
	mu   sync.Mutex
	ring []change
	next int
	full bool
}

func newRecent(n int) *recent { return &recent{ring: make([]change, n)} }

func (r *recent) add(c change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring[r.next] = c
	r.next = (r.next + 1) % len(r.ring)
	r.full = r.full || r.next == 0
}

// list returns the changes, newest first.
func (r *recent) list() []change {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.ring)
	}
	out := make([]change, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.ring[(r.next-i+len(r.ring))%len(r.ring)])
	}
	return out
}

// Run keeps the status page's list of recent changes by reading the
// store's change feed until ctx ends. The store must also be a Feed
// (*store.Store is); cmd/beacon starts it with `go api.Run(ctx)`. Without
// it the API works and the page lists no changes.
func (a *API) Run(ctx context.Context) error {
	f, ok := a.st.(Feed)
	if !ok {
		return errors.New("admin: the store has no change feed (Subscribe)")
	}
	sub := f.Subscribe()
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.Ready():
			events, resync := sub.Next()
			now := a.cfg.Now()
			if resync {
				a.recent.add(change{At: now, What: "many changes at once; some are not listed"})
			}
			for _, ev := range events {
				if what := describe(ev); what != "" {
					a.recent.add(change{At: now, Index: ev.Index, ID: ev.ID, What: what})
				}
			}
		}
	}
}

// describe says what an event changed, or "" for a bare TTL heartbeat,
// which changes nothing a reader sees.
func describe(ev store.Event) string {
	switch {
	case ev.Old == nil && ev.New == nil:
		return ""
	case ev.Old == nil:
		return fmt.Sprintf("registered in %s at %s, %s", ev.New.Name, hostPort(ev.New), ev.New.Health)
	case ev.New == nil:
		return "deregistered from " + ev.Old.Name
	case ev.Old.ModifyIndex == ev.New.ModifyIndex && cause(ev.Old, ev.New) == "":
		return ""
	case ev.Old.Health != ev.New.Health:
		return fmt.Sprintf("%s → %s%s", ev.Old.Health, ev.New.Health, cause(ev.Old, ev.New))
	}
	return "updated" + cause(ev.Old, ev.New)
}

// cause names the checks whose status or output changed.
func cause(old, in *store.Instance) string {
	var parts []string
	for _, c := range in.Checks {
		var prev *store.Check
		for _, p := range old.Checks {
			if p.ID == c.ID {
				prev = p
			}
		}
		switch {
		case prev == nil:
			parts = append(parts, "check "+c.ID+" added")
		case prev.Status != c.Status:
			parts = append(parts, fmt.Sprintf("check %s %s", c.ID, c.Status))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
