package admin

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit/teststore"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-dns/beacon/store"
)

// env is an API over a real store in a temporary directory, served by a
// real HTTP server on 127.0.0.1.
type env struct {
	t   testing.TB
	st  *store.Store
	api *API
	srv *httptest.Server
	reg *prometheus.Registry
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// openStore opens a real store in dir, closed and checked when the test
// ends.
func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	return teststore.Open(t, store.Options{Dir: dir, NodeName: "node1", Datacenter: "dc1", Advertise: "127.0.0.1"})
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	st := openStore(t, t.TempDir())
	reg := prometheus.NewRegistry()
	if cfg.Registerer == nil {
		cfg.Registerer = reg
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = reg
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	api := New(cfg, st)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, api: api, srv: srv, reg: reg}
}

// with returns e reporting to t, for use in subtests.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// reply is an answer read in full.
type reply struct {
	code   int
	header http.Header
	body   string
}

// do sends one request; headers come as name, value pairs.
func (e *env) do(method, path, body string, headers ...string) reply {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return reply{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

// must sends a request that must answer want.
func (e *env) must(want int, method, path, body string, headers ...string) reply {
	e.t.Helper()
	r := e.do(method, path, body, headers...)
	if r.code != want {
		e.t.Fatalf("%s %s: got %d %q, want %d", method, path, r.code, r.body, want)
	}
	return r
}

// register registers a body that must succeed.
func (e *env) register(body string) {
	e.t.Helper()
	e.must(http.StatusOK, "PUT", "/v1/agent/service/register", body)
}

// decode reads a JSON answer into v, which it clears first.
func decode(t testing.TB, r reply, v any) {
	t.Helper()
	reflect.ValueOf(v).Elem().SetZero()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// errorLine checks the error contract: text/plain, one line.
func errorLine(t testing.TB, r reply) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("error Content-Type = %q, want text/plain", ct)
	}
	if strings.Count(r.body, "\n") != 1 || !strings.HasSuffix(r.body, "\n") || len(strings.TrimSpace(r.body)) == 0 {
		t.Errorf("error body %q is not one line", r.body)
	}
}

// refused sends a request that must be refused with want and a one-line
// error, and must leave the catalog's index where it was.
func (e *env) refused(want int, method, path, body string) reply {
	e.t.Helper()
	before := e.st.Snapshot().Index()
	r := e.must(want, method, path, body)
	errorLine(e.t, r)
	if after := e.st.Snapshot().Index(); after != before {
		e.t.Errorf("a refused %s %s moved the index from %d to %d", method, path, before, after)
	}
	return r
}

// waitFor polls cond with a short deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// seed registers a small catalog: web (two instances, one with a TTL
// check) and db.
func (e *env) seed() {
	e.t.Helper()
	e.register(`{"ID":"web1","Name":"web","Address":"10.0.0.1","Port":8080,"Tags":["v1","primary"],"Meta":{"version":"1.0"}}`)
	e.register(`{"ID":"web2","Name":"web","Address":"10.0.0.2","Port":8080,"Tags":["v2"],"Check":{"TTL":"30s","Status":"passing"}}`)
	e.register(`{"ID":"db1","Name":"db","Address":"10.0.0.9","Port":5432}`)
}

// serveTimed serves e's API through NewServer, with its header and body
// read timeouts shortened to the given ones, until the test ends, and
// returns its address.
func (e *env) serveTimed(readHeader, read time.Duration) string {
	e.t.Helper()
	srv := NewServer("127.0.0.1:0", e.api.Handler(), nil)
	srv.ReadHeaderTimeout, srv.ReadTimeout = readHeader, read
	return serve(e.t, srv)
}

// serve runs srv on a fresh listener on 127.0.0.1 until the test ends,
// and returns its address.
func serve(t testing.TB, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func newServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
