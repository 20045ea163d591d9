package health

import (
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
	"github.com/beacon-dns/beacon/store"
)

// TestRestartKeepsStatusesAndResumesAtOnce closes the store and reopens
// it on the same directory: statuses survive, HTTP checks run again at
// once (not an interval later), TTL checks get a fresh full TTL.
func TestRestartKeepsStatusesAndResumesAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := newBackend(t, 200)
	st := openStore(t, dir, nil)
	_, stop := start(t, st, Config{})
	register(t, st, "web-1", store.CheckSpec{HTTP: b.URL, Interval: 10 * time.Second})
	register(t, st, "job-1", store.CheckSpec{TTL: 1500 * time.Millisecond, Status: store.Passing})
	waitFor(t, time.Second, "passing", func() bool { return statusOf(st, "service:web-1") == store.Passing })
	stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	b.code.Store(500)
	st = openStore(t, dir, nil)
	reopened := time.Now()
	for _, id := range []string{"service:web-1", "service:job-1"} {
		if s := statusOf(st, id); s != store.Passing {
			t.Errorf("%s after restart: %s, want the passing status it had", id, s)
		}
	}
	start(t, st, Config{})
	waitFor(t, time.Second, "HTTP check run at once after restart", func() bool { return statusOf(st, "service:web-1") == store.Critical })
	time.Sleep(time.Until(reopened.Add(time.Second)))
	if s := statusOf(st, "service:job-1"); s != store.Passing {
		t.Errorf("TTL check %s a second after restart; it should have a fresh 1.5s TTL", s)
	}
	waitFor(t, 1500*time.Millisecond, "TTL check critical after its fresh TTL", func() bool { return statusOf(st, "service:job-1") == store.Critical })
}

// TestDeregisterCriticalServiceAfter: an instance critical for longer
// than DeregisterCriticalServiceAfter is removed, and its check stops.
// The clock jumps ahead instead of the test waiting a minute.
func TestDeregisterCriticalServiceAfter(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock()
	st := openStore(t, t.TempDir(), clk.Now)
	b := newBackend(t, 500)
	start(t, st, Config{Clock: clk})
	register(t, st, "web-1", store.CheckSpec{HTTP: b.URL, Interval: time.Second, DeregisterCriticalServiceAfter: time.Minute})
	register(t, st, "web-2", store.CheckSpec{HTTP: b.URL + "/other", Interval: time.Second, Status: store.Passing})
	waitFor(t, time.Second, "web-2 critical", func() bool { return statusOf(st, "service:web-2") == store.Critical })
	time.Sleep(300 * time.Millisecond)
	if st.Snapshot().Instance("web-1") == nil {
		t.Fatal("web-1 removed before its minute was up")
	}
	clk.Advance(time.Minute)
	waitFor(t, time.Second, "web-1 removed", func() bool { return st.Snapshot().Instance("web-1") == nil })
	if st.Snapshot().Instance("web-2") == nil {
		t.Error("web-2, with no DeregisterCriticalServiceAfter, was removed too")
	}
}

// TestThresholdsThroughTheStore: with SuccessBeforePassing and
// FailuresBeforeCritical of 2, the first result counts at once and every
// later change needs two results in a row.
func TestThresholdsThroughTheStore(t *testing.T) {
	t.Parallel()
	st := openStore(t, t.TempDir(), nil)
	b := newBackend(t, 200)
	start(t, st, Config{})
	register(t, st, "web-1", store.CheckSpec{HTTP: b.URL, Interval: time.Second, SuccessBeforePassing: 2, FailuresBeforeCritical: 2})
	waitFor(t, time.Second, "first result passing at once", func() bool { return statusOf(st, "service:web-1") == store.Passing })
	for _, step := range []struct {
		code       int
		from, want store.Status
	}{{500, store.Passing, store.Critical}, {200, store.Critical, store.Passing}} {
		b.code.Store(int32(step.code))
		h := b.hits.Load()
		waitFor(t, 1500*time.Millisecond, "one run", func() bool { return b.hits.Load() >= h+1 })
		time.Sleep(200 * time.Millisecond)
		if s := statusOf(st, "service:web-1"); s != step.from {
			t.Fatalf("after one %d: %s, want still %s", step.code, s, step.from)
		}
		waitFor(t, 1500*time.Millisecond, "second result turns it", func() bool { return statusOf(st, "service:web-1") == step.want })
	}
}
