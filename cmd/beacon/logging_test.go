package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	capi "github.com/hashicorp/consul/api"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// TestLogFanout: records reach stderr at the configured level and each
// follower at its own, with the attributes and groups of the logger they
// came through; a stopped follower gets nothing more.
func TestLogFanout(t *testing.T) {
	var stderr bytes.Buffer
	log := newLogger(&stderr, slog.LevelInfo)
	src := logSource(log)
	if src == nil {
		t.Fatal("newLogger's logger has no log source")
	}
	var debug, warn testkit.SyncBuffer
	stopDebug := src.Follow(slog.LevelDebug, slog.NewTextHandler(&debug, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stopWarn := src.Follow(slog.LevelWarn, slog.NewTextHandler(&warn, &slog.HandlerOptions{Level: slog.LevelDebug}))
	defer stopWarn()

	comp := log.With("component", "http").WithGroup("req")
	comp.Debug("api request", "code", 200)
	comp.Info("listening", "addr", "127.0.0.1:1")
	comp.Warn("slow", "ms", 900)

	for _, c := range []struct {
		name, got string
		want, not []string
	}{
		{"stderr", stderr.String(), []string{"listening", "slow"}, []string{"api request"}},
		{"debug follower", debug.String(), []string{"component=http req.code=200", "listening", "slow"}, nil},
		{"warn follower", warn.String(), []string{"component=http req.ms=900"}, []string{"api request", "listening"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.got, w) {
				t.Errorf("%s lacks %q:\n%s", c.name, w, c.got)
			}
		}
		for _, n := range c.not {
			if strings.Contains(c.got, n) {
				t.Errorf("%s has %q:\n%s", c.name, n, c.got)
			}
		}
	}
	stopDebug()
	stopDebug()
	before := debug.String()
	log.Error("after stop")
	if debug.String() != before {
		t.Errorf("a stopped follower still got a record")
	}
	if !log.Enabled(context.Background(), slog.LevelWarn) || log.Enabled(context.Background(), slog.LevelDebug) {
		t.Errorf("with a warn follower, debug must be off and warn on")
	}
}

// TestLogFanoutConcurrent: following and logging at once is safe (run
// with -race).
func TestLogFanoutConcurrent(t *testing.T) {
	log := newLogger(&testkit.SyncBuffer{}, slog.LevelInfo)
	src := logSource(log)
	// One follower stays through every write: whatever the others do,
	// it must see each record once.
	kept := &testkit.SyncBuffer{}
	stopKept := src.Follow(slog.LevelDebug, slog.NewTextHandler(kept, nil))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 50 {
				stop := src.Follow(slog.LevelDebug, slog.NewTextHandler(&testkit.SyncBuffer{}, nil))
				stop()
			}
		}()
		go func() {
			defer wg.Done()
			for j := range 200 {
				log.With("w", i).Debug("x", "j", j)
			}
		}()
	}
	wg.Wait()
	stopKept()
	if n := strings.Count(kept.String(), "msg=x "); n != 4*200 {
		t.Errorf("the follower that stayed saw %d records, want %d", n, 4*200)
	}
}

// TestServeMonitor: `consul monitor`'s call, through the Consul Go client
// against serve itself, streams the server's own log at debug level.
func TestServeMonitor(t *testing.T) {
	addr, _ := serveInProcess(t)
	c, err := capi.NewClient(&capi.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	lines, err := c.Agent().Monitor("debug", stop, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		// Each read of the catalog logs a debug line for its request.
		if _, _, err := c.Catalog().Services(nil); err != nil {
			t.Fatal(err)
		}
		select {
		case line := <-lines:
			if strings.Contains(line, `msg="api request"`) && strings.Contains(line, "path=/v1/catalog/services") && strings.Contains(line, "component=http") {
				return
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no api request line streamed within 10s")
		}
	}
}
