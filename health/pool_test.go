package health

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
	"github.com/beacon-dns/beacon/store"
)

// hangingBackend is a real HTTP server whose requests hang until the test
// releases them one at a time (or the client gives up).
type hangingBackend struct {
	*backend
	inFlight, most atomic.Int64
	release        chan struct{}
}

func newHangingBackend(t *testing.T) *hangingBackend {
	h := &hangingBackend{backend: newBackend(t, 200), release: make(chan struct{})}
	h.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := h.inFlight.Add(1)
		defer h.inFlight.Add(-1)
		for m := h.most.Load(); n > m && !h.most.CompareAndSwap(m, n); m = h.most.Load() {
		}
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
	})
	return h
}

// registerIn registers one instance of service name with the given checks.
func registerIn(t testing.TB, st *store.Store, name, id string, checks ...store.CheckSpec) {
	t.Helper()
	if _, err := st.Register(store.Registration{ID: id, Name: name, Address: "127.0.0.1", Port: 80, Checks: checks}); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

// TestHungServiceDoesNotStarveAnother fills a pool of two workers with a
// service whose targets hang, with two more of its checks due and
// waiting, then makes another service's check due and frees one worker:
// that worker goes to the other service, whose check has waited less but
// which has nothing running, not to the hung service's next check.
func TestHungServiceDoesNotStarveAnother(t *testing.T) {
	clk := testkit.NewClock()
	st := openStore(t, t.TempDir(), nil)
	hang := newHangingBackend(t)
	good := newBackend(t, 200)
	var checks atomic.Int64
	start(t, st, Config{Workers: 2, Clock: clk, applied: func(n int) { checks.Store(int64(n)) }})
	for i := 1; i <= 4; i++ {
		registerIn(t, st, "slow", "slow-"+strconv.Itoa(i), store.CheckSpec{HTTP: hang.URL, Interval: 10 * time.Second, Status: store.Passing})
	}
	waitFor(t, 5*time.Second, "both workers on hung targets", func() bool { return hang.inFlight.Load() == 2 })
	clk.Advance(time.Millisecond) // the other service's check is due after the waiting ones
	registerIn(t, st, "fast", "fast-1", store.CheckSpec{HTTP: good.URL, Interval: 10 * time.Second})
	// The loop took in the registration before a worker frees up.
	waitFor(t, 5*time.Second, "the new check taken in", func() bool { return checks.Load() == 5 })
	hang.release <- struct{}{}
	waitFor(t, 5*time.Second, "the other service's check run on the freed worker", func() bool {
		return statusOf(st, "service:fast-1") == store.Passing
	})
	if n := hang.inFlight.Load(); n > 2 {
		t.Errorf("%d hung runs at once on a pool of 2", n)
	}
}

// TestPoolSize registers 200 checks whose targets all hang: a pool sized
// automatically grows to run all of them at once (each holds a worker for
// its whole timeout, which is its interval), beyond the 128 that healthy
// checks need; a pool of fixed size never runs more than its size.
func TestPoolSize(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		want    int64
	}{
		{"automatic", 0, 200},
		{"fixed", 50, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t, t.TempDir(), nil)
			hang := newHangingBackend(t)
			var checks atomic.Int64
			start(t, st, Config{Workers: tc.workers, Clock: testkit.NewClock(), applied: func(n int) { checks.Store(int64(n)) }})
			for i := range 200 {
				registerIn(t, st, "slow", "slow-"+strconv.Itoa(i), store.CheckSpec{HTTP: hang.URL, Interval: 10 * time.Second, Status: store.Passing})
			}
			waitFor(t, 10*time.Second, "every check taken in", func() bool { return checks.Load() == 200 })
			waitFor(t, 10*time.Second, "runs in flight", func() bool { return hang.inFlight.Load() == tc.want })
			if m := hang.most.Load(); m > tc.want {
				t.Errorf("%d runs in flight at once, want at most %d", m, tc.want)
			}
		})
	}
}

func TestPoolBudget(t *testing.T) {
	tests := []struct {
		nofile uint64
		want   int
	}{
		{1024, minWorkers},              // a small limit leaves the floor
		{20000, 10000 - 2*maxIdleConns}, // half the descriptors, less the idle connections
		{1 << 20, maxAutoWorkers},       // a large one is capped for memory
		{^uint64(0), maxAutoWorkers},    // unlimited
	}
	for _, tc := range tests {
		if got := capFor(tc.nofile); got != tc.want {
			t.Errorf("capFor(%d) = %d, want %d", tc.nofile, got, tc.want)
		}
	}
	loads := []struct {
		kind              store.Kind
		interval, timeout time.Duration
		want              int64
	}{
		{store.KindTCP, time.Second, time.Second, 1000},
		{store.KindHTTP, 10 * time.Second, 0, 1000}, // the default timeout of 10s
		{store.KindHTTP, 30 * time.Second, 0, 334},
		{store.KindTCP, 10 * time.Second, time.Second, 100},
		{store.KindTTL, 0, 0, 0},
	}
	for _, tc := range loads {
		if got := load(&entry{kind: tc.kind, interval: tc.interval, timeout: tc.timeout}); got != tc.want {
			t.Errorf("load of %s every %s, timeout %s = %d, want %d", tc.kind, tc.interval, tc.timeout, got, tc.want)
		}
	}
}
