package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
	"github.com/beacon-dns/beacon/store"
)

// TestHTTPStatusFollowsBackend flips a real backend and sees the store's
// snapshot (what DNS serves) follow within interval + timeout + 1s.
func TestHTTPStatusFollowsBackend(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	b := newBackend(t, 200)
	start(t, st, Config{})
	register(t, st, "web-1", store.CheckSpec{HTTP: b.URL + "/health", Interval: time.Second, Timeout: 500 * time.Millisecond})

	// The first run comes right after registration, not an interval later.
	waitFor(t, 900*time.Millisecond, "passing after registration", func() bool { return statusOf(st, "service:web-1") == store.Passing })
	const bound = time.Second + 500*time.Millisecond + time.Second
	steps := []struct {
		code int
		want store.Status
	}{{500, store.Critical}, {429, store.Warning}, {200, store.Passing}, {503, store.Critical}, {204, store.Passing}}
	for _, step := range steps {
		b.code.Store(int32(step.code))
		took := waitFor(t, bound, "status after the backend answers "+http.StatusText(step.code), func() bool {
			in := st.Snapshot().Instance("web-1")
			return in != nil && in.Health == step.want
		})
		t.Logf("%d → %s after %s", step.code, step.want, took.Round(time.Millisecond))
	}
	if c := checkOf(st, "service:web-1"); !strings.HasPrefix(c.Output, "HTTP GET "+b.URL+"/health: 204 No Content Output: ") {
		t.Errorf("output = %q", c.Output)
	}
}

func TestTCPStatusFollowsListener(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	start(t, st, Config{})
	register(t, st, "db-1", store.CheckSpec{TCP: addr, Interval: time.Second, Timeout: 500 * time.Millisecond})
	waitFor(t, 900*time.Millisecond, "passing", func() bool { return statusOf(st, "service:db-1") == store.Passing })
	if got, want := checkOf(st, "service:db-1").Output, "TCP connect "+addr+": Success"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
	l.Close()
	waitFor(t, 2500*time.Millisecond, "critical after the listener closed", func() bool { return statusOf(st, "service:db-1") == store.Critical })
	if l, err = net.Listen("tcp", addr); err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer l.Close()
	waitFor(t, 2500*time.Millisecond, "passing after the listener came back", func() bool { return statusOf(st, "service:db-1") == store.Passing })
}

// TestHungTargetsCostOnlyTheirTimeout fills all but one worker with hung
// targets: healthy checks still run at once on the free one.
func TestHungTargetsCostOnlyTheirTimeout(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	release := make(chan struct{})
	hang := newBackend(t, 200)
	hang.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	good := newBackend(t, 200)
	start(t, st, Config{Workers: 3})
	for _, id := range []string{"hung-1", "hung-2"} {
		register(t, st, id, store.CheckSpec{HTTP: hang.URL, Interval: 2 * time.Second, Timeout: 2 * time.Second, Status: store.Passing})
	}
	begin := time.Now()
	for _, id := range []string{"good-1", "good-2", "good-3", "good-4"} {
		register(t, st, id, store.CheckSpec{HTTP: good.URL, Interval: time.Second})
	}
	waitFor(t, time.Second, "healthy checks passing beside hung ones", func() bool {
		for _, id := range []string{"good-1", "good-2", "good-3", "good-4"} {
			if statusOf(st, "service:"+id) != store.Passing {
				return false
			}
		}
		return true
	})
	waitFor(t, 3*time.Second, "hung checks critical after their timeout", func() bool {
		return statusOf(st, "service:hung-1") == store.Critical && statusOf(st, "service:hung-2") == store.Critical
	})
	if took := time.Since(begin); took < 1900*time.Millisecond {
		t.Errorf("hung checks critical after %s, before their 2s timeout", took)
	}
	if got, want := checkOf(st, "service:hung-1").Output, "HTTP GET "+hang.URL+": timed out after 2s"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestRemovedCheckStops(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	b := newBackend(t, 200)
	start(t, st, Config{})
	register(t, st, "web-1", store.CheckSpec{HTTP: b.URL, Interval: time.Second})
	waitFor(t, time.Second, "passing", func() bool { return statusOf(st, "service:web-1") == store.Passing })
	if err := st.Deregister("web-1"); err != nil {
		t.Fatal(err)
	}
	hits := b.hits.Load()
	time.Sleep(1500 * time.Millisecond)
	if got := b.hits.Load(); got != hits {
		t.Errorf("backend hit %d more times after its instance was deregistered", got-hits)
	}
}

// TestChangedCheckRestarts re-registers a check with a new target: the new
// target is checked at once, the old one no more.
func TestChangedCheckRestarts(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	old, next := newBackend(t, 200), newBackend(t, 500)
	start(t, st, Config{})
	register(t, st, "web-1", store.CheckSpec{HTTP: old.URL, Interval: 10 * time.Second})
	waitFor(t, time.Second, "passing", func() bool { return statusOf(st, "service:web-1") == store.Passing })
	register(t, st, "web-1", store.CheckSpec{HTTP: next.URL, Interval: 10 * time.Second, Status: store.Passing})
	waitFor(t, time.Second, "new target checked at once", func() bool { return statusOf(st, "service:web-1") == store.Critical })
	// Re-registering the same check leaves it alone: no extra run.
	hits := next.hits.Load()
	register(t, st, "web-1", store.CheckSpec{HTTP: next.URL, Interval: 10 * time.Second})
	time.Sleep(300 * time.Millisecond)
	if got := next.hits.Load(); got != hits {
		t.Errorf("an unchanged re-registration ran the check again (%d hits)", got-hits)
	}
}

type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("transport exploded") }

func TestPanicInCheckerIsCritical(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	good := newBackend(t, 200)
	start(t, st, Config{Transport: panicTransport{}})
	register(t, st, "boom", store.CheckSpec{HTTP: "http://127.0.0.1:1/", Interval: time.Second, Status: store.Passing})
	register(t, st, "tcp", store.CheckSpec{TCP: strings.TrimPrefix(good.URL, "http://"), Interval: time.Second})
	waitFor(t, time.Second, "panicking check critical", func() bool { return statusOf(st, "service:boom") == store.Critical })
	if got := checkOf(st, "service:boom").Output; got != "check panicked: transport exploded" {
		t.Errorf("output = %q", got)
	}
	waitFor(t, time.Second, "other checks still run", func() bool { return statusOf(st, "service:tcp") == store.Passing })
}

// TestOutputOnlyChangesAreThrottled: a body that changes on every run is
// written at most once per OutputInterval; a status change at once. The
// fake clock decides when runs are due, so every run is one the test
// asked for.
func TestOutputOnlyChangesAreThrottled(t *testing.T) {
	clk := testkit.NewClock()
	st := openStore(t, t.TempDir(), clk.Now)
	var n atomic.Int64
	b := newBackend(t, 200)
	b.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		w.WriteHeader(int(b.code.Load()))
		fmt.Fprintf(w, "run %d", n.Add(1))
	})
	s, _ := start(t, st, Config{Clock: clk, phase: func(time.Duration) time.Duration { return 0 }})
	register(t, st, "web-1", store.CheckSpec{HTTP: b.URL, Interval: time.Second})
	waitFor(t, 5*time.Second, "passing", func() bool { return statusOf(st, "service:web-1") == store.Passing })
	first := checkOf(st, "service:web-1").Output
	for runs := int64(2); runs <= 3; runs++ {
		nextRun(t, clk, time.Second)
		waitFor(t, 5*time.Second, "the run the clock made due", func() bool { return b.hits.Load() >= runs })
	}
	// The run's result was submitted before its worker handed the entry
	// back and the next timer was armed; waiting for that timer and then
	// for the writers leaves no write in flight.
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("no next run planned")
	}
	s.out.wait()
	if got := checkOf(st, "service:web-1").Output; got != first {
		t.Errorf("output rewritten within the output interval: %q → %q", first, got)
	}
	clk.Advance(DefaultOutputInterval)
	waitFor(t, 5*time.Second, "output written after the output interval", func() bool {
		return checkOf(st, "service:web-1").Output != first
	})
	b.code.Store(500)
	nextRun(t, clk, time.Second)
	waitFor(t, 5*time.Second, "status change written at once", func() bool {
		return statusOf(st, "service:web-1") == store.Critical
	})
}

// TestLatenessObserved: each run reports how long after its planned time
// it started, on the scheduler's clock, and only a check's first run is
// marked first. With the phase fixed at 0, runs of a 1 s check are due
// on whole seconds, so the lateness is exactly how far past one the test
// moved the clock.
func TestLatenessObserved(t *testing.T) {
	clk := testkit.NewClock()
	st := openStore(t, t.TempDir(), nil)
	b := newBackend(t, 200)
	type obs struct {
		first bool
		late  time.Duration
	}
	seen := make(chan obs, 10)
	start(t, st, Config{Clock: clk, phase: func(time.Duration) time.Duration { return 0 },
		ObserveLateness: func(k store.Kind, first bool, late time.Duration) {
			if k == store.KindHTTP {
				seen <- obs{first, late}
			}
		}})
	register(t, st, "web-1", store.CheckSpec{HTTP: b.URL, Interval: time.Second})
	steps := []struct {
		advance time.Duration // once the next run is planned
		want    obs
	}{
		{0, obs{true, 0}}, // right after registration
		{1300 * time.Millisecond, obs{false, 300 * time.Millisecond}},  // due at +1s, clock at +1.3s
		{700 * time.Millisecond, obs{false, 0}},                        // due at +2s: not caught up on, not late
		{2500 * time.Millisecond, obs{false, 1500 * time.Millisecond}}, // due at +3s, clock at +4.5s
	}
	for i, step := range steps {
		if i > 0 {
			nextRun(t, clk, step.advance)
		}
		select {
		case got := <-seen:
			if got != step.want {
				t.Errorf("run %d: first=%v late=%s, want first=%v late=%s", i+1, got.first, got.late, step.want.first, step.want.late)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("run %d not observed", i+1)
		}
	}
	// Once the next run is planned, any run due meanwhile has been
	// observed (it is observed before it ends, and it ends before the
	// next is planned).
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("no next run planned")
	}
	select {
	case got := <-seen:
		t.Errorf("a run nobody made due: %+v", got)
	default:
	}
	waitFor(t, 5*time.Second, "every run reached the backend", func() bool { return b.hits.Load() == int64(len(steps)) })
}

// TestRunOnlyOnce calls Run twice at once: whichever comes second returns
// an error at once, the other runs until cancelled.
func TestRunOnlyOnce(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	s := New(Config{Logger: quiet}, st)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- s.Run(ctx) }()
	}
	select {
	case err := <-errs:
		if err == nil {
			t.Fatal("a Run returned nil before its context ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("neither Run refused to run a second time")
	}
	cancel()
	select {
	case err := <-errs:
		if err != nil {
			t.Errorf("the running Run returned %v when cancelled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestTLSSkipVerifyUsesItsOwnTransport: the same self-signed target is
// critical for a verifying check and passing for one that skips
// verification, checked side by side.
func TestTLSSkipVerifyUsesItsOwnTransport(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("tls ok")) }))
	defer srv.Close()
	start(t, st, Config{})
	register(t, st, "verify", store.CheckSpec{HTTP: srv.URL, Interval: time.Second, Status: store.Passing})
	register(t, st, "skip", store.CheckSpec{HTTP: srv.URL, Interval: time.Second, TLSSkipVerify: true})
	waitFor(t, time.Second, "skip passing, verify critical", func() bool {
		return statusOf(st, "service:skip") == store.Passing && statusOf(st, "service:verify") == store.Critical
	})
	if out := checkOf(st, "service:verify").Output; !strings.Contains(out, "certificate") {
		t.Errorf("verifying check output %q does not name the certificate problem", out)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		workers int
		want    string // a phrase of the rule; empty when valid
	}{
		{0, ""},
		{1, ""},
		{50000, ""},
		{-1, "use 0 to size the pool"},
	} {
		err := Config{Workers: tc.workers}.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Workers %d: %v, want valid", tc.workers, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), "Workers: ") || !strings.Contains(errMsg(err), tc.want)):
			t.Errorf("Workers %d: %v, want a Workers error saying %q", tc.workers, err, tc.want)
		}
	}
}

// errMsg is the rule of a validation error, without its field.
func errMsg(err error) string {
	var verr *store.ValidationError
	if errors.As(err, &verr) {
		return verr.Msg
	}
	return ""
}
