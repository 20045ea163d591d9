package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/beacon-dns/beacon/store"
)

func TestHealthz(t *testing.T) {
	var ready error
	e := newEnv(t, Config{Ready: func() error { return ready }})
	if r := e.must(200, "GET", "/healthz", ""); r.body != "ok\n" {
		t.Errorf("healthz body %q", r.body)
	}
	ready = errors.New("dns: udp listener not serving")
	r := e.must(503, "GET", "/healthz", "")
	errorLine(t, r)
	if !strings.Contains(r.body, "udp listener") {
		t.Errorf("503 body %q does not give the reason", r.body)
	}
	ready = nil
	_ = e.st.Close()
	r = e.must(503, "GET", "/healthz", "")
	if !strings.Contains(r.body, "store") {
		t.Errorf("closed store: %q", r.body)
	}
	// Writes to a closed store are 503 too, one line.
	errorLine(t, e.must(503, "PUT", "/v1/agent/service/register", `{"Name":"late"}`))
}

// failingStore fails every write as a full disk would.
type failingStore struct{ *store.Store }

var errDiskFull = errors.New("write beacon.db: no space left on device")

func (failingStore) Register(store.Registration) (*store.Instance, error) { return nil, errDiskFull }
func (failingStore) Deregister(string) error                              { return errDiskFull }

func TestStoreFailureIs500(t *testing.T) {
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { _ = st.Close() })
	a := New(Config{Logger: quietLogger()}, failingStore{st})
	e := &env{t: t, st: st, api: a}
	e.srv = newServer(t, a.Handler())
	r := e.must(500, "PUT", "/v1/agent/service/register", `{"Name":"web"}`)
	errorLine(t, r)
	if !strings.Contains(r.body, "no space left") {
		t.Errorf("500 body %q does not say why", r.body)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	e.do("GET", "/v1/agent/service/web1", "")
	e.do("GET", "/v1/agent/service/nope", "")
	e.do("GET", "/v1/agent/service/register", "")
	e.do("GET", "/no/such/path", "")
	body := e.must(200, "GET", "/metrics", "").body
	for _, want := range []string{
		`beacon_api_requests_total{code="200",route="/v1/agent/service/register"} 3`,
		`beacon_api_requests_total{code="200",route="/v1/agent/service/{id}"} 1`,
		`beacon_api_requests_total{code="404",route="/v1/agent/service/{id}"} 1`,
		`beacon_api_requests_total{code="405",route="/v1/agent/service/register"} 1`,
		`beacon_api_requests_total{code="404",route="unmatched"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, e)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
	if n := testutil.CollectAndCount(e.api.metrics.requests); n < 4 {
		t.Errorf("%d series", n)
	}
}

func mustGather(t *testing.T, e *env) []*dto.MetricFamily {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func TestNewServer(t *testing.T) {
	s := NewServer("127.0.0.1:0", http.NotFoundHandler(), &tls.Config{})
	if s.ReadHeaderTimeout == 0 || s.ReadTimeout == 0 || s.IdleTimeout == 0 || s.MaxHeaderBytes == 0 {
		t.Errorf("missing a timeout: %+v", s)
	}
	if s.WriteTimeout != 0 {
		t.Errorf("WriteTimeout %s would cut off blocking queries", s.WriteTimeout)
	}
	if s.TLSConfig.MinVersion < tls.VersionTLS12 {
		t.Errorf("TLS MinVersion %x", s.TLSConfig.MinVersion)
	}
	if NewServer(":0", http.NotFoundHandler(), nil).TLSConfig != nil {
		t.Errorf("nil tls.Config should stay nil")
	}
}

func TestUI(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e := newEnv(t, Config{Now: func() time.Time { return now }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.api.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// Run subscribes in its own goroutine; changes before that are not
	// listed. Poke until one is.
	port := 0
	waitFor(t, "Run to subscribe", func() bool {
		port++
		e.register(fmt.Sprintf(`{"ID":"probe","Name":"probe","Port":%d}`, port))
		return len(e.api.recent.list()) > 0
	})
	e.seed()
	e.register(`{"ID":"evil","Name":"xss","Tags":["<script>alert(1)</script>"],"Check":{"TTL":"10s","Status":"passing"}}`)
	e.must(200, "PUT", "/v1/agent/check/fail/service:web2?note=%3Cb%3Eboom%3C/b%3E", "")
	e.must(200, "PUT", "/v1/agent/service/deregister/db1", "")
	waitFor(t, "recent changes", func() bool { return len(e.api.recent.list()) >= 6 })
	r := e.must(200, "GET", "/ui/", "")
	for _, want := range []string{"web1", "10.0.0.2:8080", "service:web2", "critical", "&lt;b&gt;boom&lt;/b&gt;",
		"&lt;script&gt;", "deregistered from db", "passing → critical", "registered in web", "2030-01-02 03:04:05Z"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<script>") || strings.Contains(r.body, "<b>boom") {
		t.Errorf("status page does not escape input")
	}
	if r := e.do("GET", "/?token=x", ""); r.code != 200 {
		// the redirect is followed to /ui/
		t.Errorf("/ → %d", r.code)
	}
	if r := e.do("GET", "/ui", ""); r.code != 200 {
		t.Errorf("/ui → %d", r.code)
	}
}

func TestRecentRing(t *testing.T) {
	r := newRecent(3)
	for i := 1; i <= 5; i++ {
		r.add(change{Index: uint64(i)})
	}
	got := r.list()
	if len(got) != 3 || got[0].Index != 5 || got[2].Index != 3 {
		t.Errorf("ring = %+v", got)
	}
}
