package health

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit/teststore"

	"github.com/beacon-dns/beacon/internal/testkit"
	"github.com/beacon-dns/beacon/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openStore opens a real store in dir; the cleanup closes it and checks
// the BoltDB file's consistency.
func openStore(t testing.TB, dir string, now func() time.Time) *store.Store {
	t.Helper()
	return teststore.Open(t, store.Options{Dir: dir, NodeName: "test", Now: now, Logger: quiet})
}

// start runs a scheduler on st until the test ends (or stop is called).
func start(t testing.TB, st Store, cfg Config) (s *Scheduler, stop func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	s = New(cfg, st)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not return within 5s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	begin := time.Now()
	for !cond() {
		if time.Since(begin) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(begin)
}

// checkOf returns the current version of a check, or nil.
func checkOf(st Store, id string) *store.Check {
	c, _ := st.Snapshot().Check(id)
	return c
}

func statusOf(st Store, id string) store.Status {
	if c := checkOf(st, id); c != nil {
		return c.Status
	}
	return ""
}

// backend is a real HTTP server whose answer a test can flip.
type backend struct {
	*httptest.Server
	code atomic.Int32
	hits atomic.Int64
	body atomic.Value // string
}

func newBackend(t testing.TB, code int) *backend {
	t.Helper()
	b := &backend{}
	b.code.Store(int32(code))
	b.body.Store("ok")
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		w.WriteHeader(int(b.code.Load()))
		io.WriteString(w, b.body.Load().(string))
	}))
	t.Cleanup(b.Close)
	return b
}

// register registers one instance with the given checks, durably.
func register(t *testing.T, st *store.Store, id string, checks ...store.CheckSpec) {
	t.Helper()
	if _, err := st.Register(store.Registration{ID: id, Name: "web", Address: "127.0.0.1", Port: 80, Checks: checks}); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

// nextRun waits until the scheduler has planned its next run, then moves
// the clock forward by d.
func nextRun(t *testing.T, clk *testkit.Clock, d time.Duration) {
	t.Helper()
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("the scheduler planned no next run")
	}
	clk.Advance(d)
}

// blackHole listens on loopback with an accept queue of one that it fills
// and never accepts from: the kernel then drops every further SYN, so a
// connect hangs until the client gives up, as it does towards a host
// that silently drops packets. It fails b unless a connect really hangs.
func blackHole(b testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	var lerr error
	if err := raw.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), 0) }); err != nil || lerr != nil {
		b.Fatalf("shrink the backlog: %v %v", err, lerr)
	}
	addr := ln.Addr().String()
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			break // the queue is full: connects hang
		}
		if err != nil {
			b.Fatalf("filling the black hole's queue: %v", err)
		}
		if i == 16 {
			b.Fatal("the black hole's queue does not fill: connects never hang")
		}
		b.Cleanup(func() { c.Close() })
	}
	return addr
}
