package admin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// pending is a request running in the background.
type pending struct {
	done chan reply
}

// start sends a GET that may block.
func (e *env) start(path string) *pending {
	p := &pending{done: make(chan reply, 1)}
	go func() {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			p.done <- reply{code: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		p.done <- reply{code: resp.StatusCode, header: resp.Header, body: string(b)}
	}()
	return p
}

// parkedAtLeast waits until n queries are blocked in the API.
func (e *env) parkedAtLeast(n int64) {
	e.t.Helper()
	waitFor(e.t, fmt.Sprintf("%d parked queries", n), func() bool { return e.api.parked.load() >= n })
}

func (p *pending) wait(t *testing.T, within time.Duration) reply {
	t.Helper()
	select {
	case r := <-p.done:
		return r
	case <-time.After(within):
		t.Fatalf("no answer within %s", within)
	}
	return reply{}
}

func (p *pending) still(t *testing.T) {
	t.Helper()
	select {
	case r := <-p.done:
		t.Fatalf("answered early: %d %q", r.code, r.body)
	case <-time.After(50 * time.Millisecond):
	}
}

func indexOf(t testing.TB, r reply) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(r.header.Get("X-Consul-Index"), 10, 64)
	if err != nil || n == 0 {
		t.Fatalf("X-Consul-Index = %q", r.header.Get("X-Consul-Index"))
	}
	return n
}

// TestBlockingReturnsOnChange: a blocked read returns promptly after a
// change to what it watches, with a higher index.
func TestBlockingReturnsOnChange(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	paths := []struct {
		path   string
		change func()
	}{
		{"/v1/health/service/web", func() { e.must(200, "PUT", "/v1/agent/check/fail/service:web2", "") }},
		{"/v1/catalog/service/web", func() { e.register(`{"ID":"web9","Name":"web","Port":1}`) }},
		{"/v1/health/checks/web", func() { e.must(200, "PUT", "/v1/agent/check/pass/service:web2?note=x", "") }},
		{"/v1/catalog/services", func() { e.register(`{"Name":"newsvc"}`) }},
		{"/v1/health/state/any", func() { e.must(200, "PUT", "/v1/agent/check/warn/service:web2", "") }},
		{"/v1/health/service/later", func() { e.register(`{"Name":"later","Port":7}`) }},
	}
	for _, c := range paths {
		t.Run(c.path, func(t *testing.T) {
			e := e.with(t)
			first := e.must(200, "GET", c.path, "")
			idx := indexOf(t, first)
			p := e.start(fmt.Sprintf("%s?index=%d&wait=20s", c.path, idx))
			e.parkedAtLeast(1)
			p.still(t)
			start := time.Now()
			c.change()
			r := p.wait(t, 2*time.Second)
			if r.code != 200 || indexOf(t, r) <= idx {
				t.Errorf("got %d index %d after a change, want 200 and index > %d", r.code, indexOf(t, r), idx)
			}
			t.Logf("answered %s after the change", time.Since(start))
			waitFor(t, "no parked queries", func() bool { return e.api.parked.load() == 0 })
		})
	}
}

// TestBlockingTimesOut: with no change the read returns after wait (plus
// at most wait/16 of jitter) with the same index.
func TestBlockingTimesOut(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	idx := indexOf(t, e.must(200, "GET", "/v1/health/service/web", ""))
	const wait = 300 * time.Millisecond
	start := time.Now()
	r := e.must(200, "GET", fmt.Sprintf("/v1/health/service/web?index=%d&wait=300ms", idx), "")
	took := time.Since(start)
	if took < wait || took > wait+wait/16+time.Second {
		t.Errorf("returned after %s, want %s to %s", took, wait, wait+wait/16)
	}
	if got := indexOf(t, r); got != idx {
		t.Errorf("index after a timeout = %d, want %d unchanged", got, idx)
	}
	// An index ahead of ours (a client that saw another server) waits
	// too, as Consul's blockingQuery does, and gets our index back, so
	// the client's watch (api/watch WaitIndexVal.Next) starts over.
	start = time.Now()
	r = e.must(200, "GET", fmt.Sprintf("/v1/health/service/web?index=%d&wait=300ms", idx+1000), "")
	if took := time.Since(start); took < wait || indexOf(t, r) != idx {
		t.Errorf("index ahead: returned after %s with index %d; want %s and %d", took, indexOf(t, r), wait, idx)
	}
	// catalog/nodes never changes while beacon runs: it waits out its wait
	// whatever else changes.
	nidx := indexOf(t, e.must(200, "GET", "/v1/catalog/nodes", ""))
	p := e.start(fmt.Sprintf("/v1/catalog/nodes?index=%d&wait=300ms", nidx))
	e.parkedAtLeast(1)
	e.register(`{"Name":"noise"}`)
	p.still(t)
	if r := p.wait(t, 2*time.Second); indexOf(t, r) != nidx {
		t.Errorf("catalog/nodes index moved from %d to %d", nidx, indexOf(t, r))
	}
}

// TestBlockingIndexMonotonic: across many changes the index an endpoint
// reports never goes backwards.
func TestBlockingIndexMonotonic(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	paths := []string{"/v1/health/service/web", "/v1/catalog/services", "/v1/health/service/gone", "/v1/health/state/any", "/v1/agent/services"}
	last := map[string]uint64{}
	for i := 0; i < 20; i++ {
		switch i % 4 {
		case 0:
			e.register(fmt.Sprintf(`{"ID":"gone","Name":"gone","Port":%d}`, i))
		case 1:
			e.must(200, "PUT", "/v1/agent/service/deregister/gone", "")
		case 2:
			e.must(200, "PUT", "/v1/agent/check/fail/service:web2", "")
		case 3:
			e.must(200, "PUT", "/v1/agent/check/pass/service:web2", "")
		}
		for _, p := range paths {
			got := indexOf(t, e.must(200, "GET", p, ""))
			if got < last[p] {
				t.Fatalf("%s: index went from %d back to %d", p, last[p], got)
			}
			last[p] = got
		}
	}
}

// TestBlockingIgnoresUnrelated: changes to other services wake nobody, a
// TTL heartbeat that changes nothing wakes nobody, and health changes do
// not wake catalog/services.
func TestBlockingIgnoresUnrelated(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	widx := indexOf(t, e.must(200, "GET", "/v1/health/service/web", ""))
	cidx := indexOf(t, e.must(200, "GET", "/v1/catalog/services", ""))
	web := e.start(fmt.Sprintf("/v1/health/service/web?index=%d&wait=20s", widx))
	cat := e.start(fmt.Sprintf("/v1/catalog/services?index=%d&wait=20s", cidx))
	e.parkedAtLeast(2)
	base := e.api.wakeups.load()
	for i := 0; i < 10; i++ {
		e.register(fmt.Sprintf(`{"ID":"db1","Name":"db","Port":%d}`, 5000+i))
	}
	e.must(200, "PUT", "/v1/agent/check/pass/service:web2", "") // heartbeat: status unchanged
	web.still(t)
	cat.still(t)
	if n := e.api.wakeups.load() - base; n != 0 {
		t.Errorf("%d wake-ups from unrelated changes, want 0", n)
	}
	e.must(200, "PUT", "/v1/agent/check/fail/service:web2", "")
	if r := web.wait(t, 2*time.Second); indexOf(t, r) <= widx {
		t.Errorf("web watcher index %d, want > %d", indexOf(t, r), widx)
	}
	cat.still(t)
	e.register(`{"Name":"fresh"}`)
	if r := cat.wait(t, 2*time.Second); indexOf(t, r) <= cidx {
		t.Errorf("catalog watcher index %d, want > %d", indexOf(t, r), cidx)
	}
}

// TestBlockingClientGone: a client that leaves releases its query.
func TestBlockingClientGone(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	idx := indexOf(t, e.must(200, "GET", "/v1/health/service/web", ""))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/v1/health/service/web?index=%d&wait=5m", e.srv.URL, idx), nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	e.parkedAtLeast(1)
	cancel()
	<-errc
	waitFor(t, "the query to be released", func() bool { return e.api.parked.load() == 0 })
}

// TestBlockingSurvivesReadTimeout: a blocked query outlives the server's
// ReadTimeout, because the write deadline is per request and net/http
// clears the read deadline once the body is read.
func TestBlockingSurvivesReadTimeout(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	addr := e.serveTimed(100*time.Millisecond, 100*time.Millisecond)
	idx := indexOf(t, e.must(200, "GET", "/v1/health/service/web", ""))
	start := time.Now()
	resp, err := http.Get(fmt.Sprintf("http://%s/v1/health/service/web?index=%d&wait=600ms", addr, idx))
	if err != nil {
		t.Fatalf("blocking query over NewServer: %v", err)
	}
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != 200 || took < 600*time.Millisecond {
		t.Errorf("got %d after %s; want 200 after the full 600ms wait", resp.StatusCode, took)
	}
}

// TestBlockingAnswersOnShutdown: when the request's context ends on the
// server side (cmd/beacon cancels them on shutdown), a blocked query gets
// a valid answer at once rather than an empty body.
func TestBlockingAnswersOnShutdown(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	shutdown, stop := context.WithCancel(context.Background())
	defer stop()
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		context.AfterFunc(shutdown, cancel)
		e.api.Handler().ServeHTTP(w, r.WithContext(ctx))
	}))
	idx := indexOf(t, e.must(200, "GET", "/v1/health/service/web", ""))
	got := make(chan reply, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("%s/v1/health/service/web?index=%d&wait=5m", srv.URL, idx))
		if err != nil {
			got <- reply{code: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- reply{code: resp.StatusCode, header: resp.Header, body: string(b)}
	}()
	e.parkedAtLeast(1)
	stop()
	r := (&pending{done: got}).wait(t, 2*time.Second)
	var entries []serviceEntryJSON
	decode(t, r, &entries)
	if r.code != 200 || len(entries) != 2 || indexOf(t, r) != idx {
		t.Errorf("on shutdown: %d, %d entries, index %d (want 200, 2, %d)", r.code, len(entries), indexOf(t, r), idx)
	}
}

// TestIndexAcrossRestart: the indexes an API reports never go back when
// beacon restarts on the same data directory.
func TestIndexAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	paths := []string{"/v1/health/service/web", "/v1/catalog/services", "/v1/catalog/nodes", "/v1/health/state/any", "/v1/agent/services", "/v1/health/service/none"}
	last := map[string]uint64{}
	for round := 0; round < 3; round++ {
		st := openStore(t, dir)
		a := New(Config{Logger: quietLogger()}, st)
		e := &env{t: t, st: st, api: a, srv: httptest.NewServer(a.Handler())}
		if round == 0 {
			e.seed()
		}
		for _, p := range paths {
			got := indexOf(t, e.must(200, "GET", p, ""))
			if got < last[p] {
				t.Errorf("round %d: %s index went from %d back to %d", round, p, last[p], got)
			}
			last[p] = got
		}
		e.srv.Close()
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBlockingOverHTTP2: per-request write deadlines also work over TLS
// with HTTP/2, which -tls-cert serves.
func TestBlockingOverHTTP2(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	ts := httptest.NewUnstartedServer(e.api.Handler())
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	idx := indexOf(t, e.must(200, "GET", "/v1/health/service/web", ""))
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := ts.Client().Get(fmt.Sprintf("%s/v1/health/service/web?index=%d&wait=20s", ts.URL, idx))
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		done <- resp
	}()
	e.parkedAtLeast(1)
	e.must(200, "PUT", "/v1/agent/check/fail/service:web2", "")
	select {
	case resp := <-done:
		if resp == nil {
			return
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
			t.Errorf("got %s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer over HTTP/2")
	}
}
