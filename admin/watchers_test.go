package admin

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// watchers parks n blocking health/service/web queries on their own
// connections, then makes one change to web. It returns how long after the
// start of that registration each watcher had its answer (client) and
// each handler had written it (server), both sorted. Before the change it
// makes unrelated changes and checks they wake none.
func watchers(tb testing.TB, e *env, n int) (client, server []time.Duration) {
	tb.Helper()
	idx := indexOf(e.t, e.must(200, "GET", "/v1/health/service/web", ""))
	var start time.Time
	var startMu sync.Mutex
	var served []time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.api.Handler().ServeHTTP(w, r)
		startMu.Lock()
		served = append(served, time.Since(start))
		startMu.Unlock()
	}))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	url := fmt.Sprintf("%s/v1/health/service/web?index=%d&wait=2m", srv.URL, idx)
	lat := make([]time.Duration, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := hc.Get(url)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			startMu.Lock()
			lat[i] = time.Since(start)
			startMu.Unlock()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		}(i)
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.api.parked.load() < int64(n) {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d watchers parked", e.api.parked.load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	base := e.api.wakeups.load()
	for i := 0; i < 20; i++ {
		e.register(fmt.Sprintf(`{"ID":"db1","Name":"db","Port":%d}`, 6000+i))
	}
	if woke := e.api.wakeups.load() - base; woke != 0 {
		tb.Fatalf("%d wake-ups from 20 changes to another service, want 0", woke)
	}
	startMu.Lock()
	start = time.Now()
	startMu.Unlock()
	e.register(`{"ID":"web1","Name":"web","Address":"10.0.0.1","Port":8081}`)
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatalf("watcher: %v", err)
	}
	if woke := e.api.wakeups.load() - base; woke != int64(n) {
		tb.Errorf("%d wake-ups for one change, want exactly %d", woke, n)
	}
	slices.Sort(lat)
	startMu.Lock()
	defer startMu.Unlock()
	slices.Sort(served)
	return lat, served
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// TestThousandWatchers: 1000 blocked watchers cost no wake-up for changes
// to another service, and are all answered after one change to theirs.
func TestThousandWatchers(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1000 connections")
	}
	e := newEnv(t, Config{})
	e.seed()
	lat, served := watchers(t, e, 1000)
	t.Logf("1000 watchers after one registration: answers written p50 %s p99 %s; received p50 %s p99 %s max %s",
		pct(served, 0.50), pct(served, 0.99), pct(lat, 0.50), pct(lat, 0.99), lat[len(lat)-1])
	if last := lat[len(lat)-1]; last > 10*time.Second {
		t.Errorf("last watcher answered after %s", last)
	}
}

// BenchmarkThousandWatchers reports the time from the start of one
// registration (fsync included) to the answer of each of 1000 blocked
// watchers, as p50 and p99 in milliseconds, as written by the server and
// as received by the clients (which share the machine's CPUs).
func BenchmarkThousandWatchers(b *testing.B) {
	var p50, p99, w50, w99 float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, Config{})
		e.seed()
		b.StartTimer()
		lat, served := watchers(b, e, 1000)
		p50 += float64(pct(lat, 0.50)) / float64(time.Millisecond)
		p99 += float64(pct(lat, 0.99)) / float64(time.Millisecond)
		w50 += float64(pct(served, 0.50)) / float64(time.Millisecond)
		w99 += float64(pct(served, 0.99)) / float64(time.Millisecond)
	}
	b.ReportMetric(w50/float64(b.N), "written-p50-ms")
	b.ReportMetric(w99/float64(b.N), "written-p99-ms")
	b.ReportMetric(p50/float64(b.N), "p50-ms")
	b.ReportMetric(p99/float64(b.N), "p99-ms")
}

// BenchmarkThousandWatchersBare is the floor of this machine for the same
// fan-out: 1000 requests parked in a bare net/http handler that writes a
// constant when a channel closes, with the same client. Compare its
// figures with BenchmarkThousandWatchers'.
func BenchmarkThousandWatchersBare(b *testing.B) {
	const n = 1000
	var p50, p99 float64
	for i := 0; i < b.N; i++ {
		release := make(chan struct{})
		var parked atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			parked.Add(1)
			<-release
			_, _ = w.Write([]byte(`[{"Node":{},"Service":{},"Checks":[]}]`))
		}))
		tr := &http.Transport{MaxIdleConnsPerHost: n}
		hc := &http.Client{Transport: tr, Timeout: time.Minute}
		lat := make([]time.Duration, n)
		var start atomic.Int64 // ns; the clients learn of the release only over the network
		var wg sync.WaitGroup
		for j := 0; j < n; j++ {
			wg.Add(1)
			go func(j int) {
				defer wg.Done()
				resp, err := hc.Get(srv.URL)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[j] = time.Duration(time.Now().UnixNano() - start.Load())
			}(j)
		}
		for parked.Load() < n {
			time.Sleep(time.Millisecond)
		}
		start.Store(time.Now().UnixNano())
		close(release)
		wg.Wait()
		slices.Sort(lat)
		p50 += float64(pct(lat, 0.50)) / float64(time.Millisecond)
		p99 += float64(pct(lat, 0.99)) / float64(time.Millisecond)
		tr.CloseIdleConnections()
		srv.Close()
	}
	b.ReportMetric(p50/float64(b.N), "p50-ms")
	b.ReportMetric(p99/float64(b.N), "p99-ms")
}
