package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
// written at most once per OutputInterval; a status change at once.
func TestOutputOnlyChangesAreThrottled(t *testing.T) {
	clk := &clock{}
	st := openStore(t, t.TempDir(), clk.Now)
	var n atomic.Int64
	b := newBackend(t, 200)
	b.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		w.WriteHeader(int(b.code.Load()))
		w.Write([]byte("run " + string(rune('0'+n.Add(1)%10))))
	})
	start(t, st, Config{Now: clk.Now})
	register(t, st, "web-1", store.CheckSpec{HTTP: b.URL, Interval: time.Second})
	waitFor(t, time.Second, "passing", func() bool { return statusOf(st, "service:web-1") == store.Passing })
	first := checkOf(st, "service:web-1").Output
	waitFor(t, 3*time.Second, "two more runs", func() bool { return b.hits.Load() >= 3 })
	time.Sleep(100 * time.Millisecond)
	if got := checkOf(st, "service:web-1").Output; got != first {
		t.Errorf("output rewritten within the output interval: %q → %q", first, got)
	}
	clk.Advance(DefaultOutputInterval)
	waitFor(t, 1500*time.Millisecond, "output written after the output interval", func() bool {
		return checkOf(st, "service:web-1").Output != first
	})
	b.code.Store(500)
	waitFor(t, 1500*time.Millisecond, "status change written at once", func() bool {
		return statusOf(st, "service:web-1") == store.Critical
	})
}

func TestLatenessObserved(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	b := newBackend(t, 200)
	var runs, firsts, worst atomic.Int64
	start(t, st, Config{ObserveLateness: func(k store.Kind, first bool, late time.Duration) {
		if first {
			firsts.Add(1)
		}
		if k == store.KindHTTP {
			runs.Add(1)
			if int64(late) > worst.Load() {
				worst.Store(int64(late))
			}
		}
	}})
	register(t, st, "web-1", store.CheckSpec{HTTP: b.URL, Interval: time.Second})
	waitFor(t, 3*time.Second, "three runs observed", func() bool { return runs.Load() >= 3 })
	if w := time.Duration(worst.Load()); w > 200*time.Millisecond {
		t.Errorf("worst lateness %s on an idle scheduler", w)
	}
	if h := b.hits.Load(); h < 3 || h > 4 {
		t.Errorf("%d runs observed but the backend saw %d", runs.Load(), h)
	}
	if n := firsts.Load(); n != 1 {
		t.Errorf("%d runs observed as first runs, want 1", n)
	}
}

func TestRunOnlyOnce(t *testing.T) {
	st := openStore(t, t.TempDir(), nil)
	s, _ := start(t, st, Config{})
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Run(ctx); err == nil {
		t.Errorf("second Run returned nil")
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
