package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/beacon-dns/beacon/admin"
)

// newLogger writes text logs at level and above to w (stderr), and passes
// records to whoever follows the log (GET /v1/agent/monitor) at the
// level they ask for, which may be below level.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	f := &followers{}
	f.min.Store(math.MaxInt64)
	return slog.New(&fanout{base: slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}), f: f})
}

// logSource returns what follows log's records, nil if log was not made
// by newLogger.
func logSource(log *slog.Logger) admin.LogSource {
	if h, ok := log.Handler().(*fanout); ok {
		return h.f
	}
	return nil
}

// fanout is the root handler of beacon's logger: records go to base and
// to every follower whose level they reach.
type fanout struct {
	base slog.Handler
	f    *followers
	// derive replays the logger's With and WithGroup calls on a
	// follower's handler, in order.
	derive []func(slog.Handler) slog.Handler
}

func (h *fanout) Enabled(ctx context.Context, l slog.Level) bool {
	return h.base.Enabled(ctx, l) || int64(l) >= h.f.min.Load()
}

func (h *fanout) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.base.Enabled(ctx, r.Level) {
		err = h.base.Handle(ctx, r)
	}
	if int64(r.Level) >= h.f.min.Load() {
		h.f.pass(ctx, r, h.derive)
	}
	return err
}

func (h *fanout) WithAttrs(as []slog.Attr) slog.Handler {
	return &fanout{base: h.base.WithAttrs(as), f: h.f,
		derive: append(slices.Clip(h.derive), func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })}
}

func (h *fanout) WithGroup(name string) slog.Handler {
	return &fanout{base: h.base.WithGroup(name), f: h.f,
		derive: append(slices.Clip(h.derive), func(x slog.Handler) slog.Handler { return x.WithGroup(name) })}
}

// followers are the handlers following the log. min is the lowest level
// any of them follows (MaxInt64 with none), read on every log call
// without a lock.
type followers struct {
	mu   sync.RWMutex
	list []*follower
	min  atomic.Int64
}

type follower struct {
	level slog.Level
	h     slog.Handler
}

// Follow implements admin.LogSource.
func (f *followers) Follow(level slog.Level, h slog.Handler) (stop func()) {
	fl := &follower{level: level, h: h}
	f.mu.Lock()
	f.list = append(f.list, fl)
	f.setMinLocked()
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.list = slices.DeleteFunc(f.list, func(x *follower) bool { return x == fl })
			f.setMinLocked()
			f.mu.Unlock()
		})
	}
}

func (f *followers) setMinLocked() {
	m := int64(math.MaxInt64)
	for _, fl := range f.list {
		m = min(m, int64(fl.level))
	}
	f.min.Store(m)
}

// pass hands r to each follower whose level it reaches. Followers'
// handlers do not block (admin's queue a line or drop it).
func (f *followers) pass(ctx context.Context, r slog.Record, derive []func(slog.Handler) slog.Handler) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, fl := range f.list {
		if r.Level < fl.level {
			continue
		}
		h := fl.h
		for _, d := range derive {
			h = d(h)
		}
		_ = h.Handle(ctx, r.Clone())
	}
}

var (
	_ slog.Handler    = (*fanout)(nil)
	_ admin.LogSource = (*followers)(nil)
)
