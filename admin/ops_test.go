package admin

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strings"
	"testing"

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
		`beacon_http_request_duration_seconds_count{route="/v1/agent/service/{id}"} 2`,
		`beacon_http_request_duration_seconds_count{route="unmatched"} 1`,
		`beacon_http_request_duration_seconds_bucket{route="unmatched",le="600"} 1`,
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
