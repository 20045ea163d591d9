package admin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/beacon-dns/beacon/store"
)

// staleStore is a store that can be told it lost touch with etcd, and
// whose writes then fail as the etcd backend's do.
type staleStore struct {
	*store.Store
	stale atomic.Bool
}

func (s *staleStore) Stale() bool { return s.stale.Load() }

func (s *staleStore) Register(r store.Registration) (*store.Instance, error) {
	if s.stale.Load() {
		return nil, fmt.Errorf("write not committed: etcd at 127.0.0.1:2379 did not answer within 5s: %w", store.ErrUnavailable)
	}
	return s.Store.Register(r)
}

func TestStaleStore(t *testing.T) {
	st := &staleStore{Store: openStore(t, t.TempDir())}
	t.Cleanup(func() { _ = st.Close() })
	srv := httptest.NewServer(New(Config{Logger: quietLogger()}, st).Handler())
	t.Cleanup(srv.Close)
	get := func() *http.Response {
		resp, err := http.Get(srv.URL + "/v1/catalog/services")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	register := func() *http.Response {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v1/agent/service/register", strings.NewReader(`{"Name":"web"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		stale      bool
		leader     string
		registered int
	}{
		{false, "true", http.StatusOK},
		{true, "false", http.StatusServiceUnavailable},
		{false, "true", http.StatusOK},
	} {
		st.stale.Store(tc.stale)
		if got := get(); got.StatusCode != http.StatusOK || got.Header.Get("X-Consul-KnownLeader") != tc.leader {
			t.Errorf("stale=%v: read %d with KnownLeader %q, want 200 and %q", tc.stale, got.StatusCode, got.Header.Get("X-Consul-KnownLeader"), tc.leader)
		}
		if got := register(); got.StatusCode != tc.registered {
			t.Errorf("stale=%v: register answered %d, want %d", tc.stale, got.StatusCode, tc.registered)
		}
	}
}
