package health

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/etcdtest"
	"github.com/beacon-dns/beacon/store"
)

// nodeTagger marks each check request with the node that sent it.
type nodeTagger struct {
	node string
	next http.RoundTripper
}

func (n nodeTagger) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Test-Node", n.node)
	return n.next.RoundTrip(r)
}

// hitLog counts check requests by path and node.
type hitLog struct {
	mu   sync.Mutex
	hits map[string]map[string]int // path → node → hits
}

func (h *hitLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := strings.TrimPrefix(r.URL.Path, "/")
	if h.hits[id] == nil {
		h.hits[id] = map[string]int{}
	}
	h.hits[id][r.Header.Get("X-Test-Node")]++
}

// take returns the hits so far and starts counting anew.
func (h *hitLog) take() map[string]map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.hits
	h.hits = map[string]map[string]int{}
	return out
}

func openShared(t *testing.T, endpoints []string, name string) *store.Store {
	t.Helper()
	return openSharedAt(t, endpoints, "/shared", name)
}

func openSharedAt(t *testing.T, endpoints []string, prefix, name string) *store.Store {
	t.Helper()
	st, err := store.OpenEtcd(store.Options{NodeName: name, Logger: quiet},
		store.EtcdOptions{Endpoints: endpoints, Prefix: prefix, Timeout: 2 * time.Second,
			ProbeInterval: 200 * time.Millisecond, StaleAfter: time.Second, NodeTTL: 2 * time.Second, Settle: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	select {
	case <-st.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("not loaded within 10s")
	}
	return st
}

// TestSharedChecksRunOnce runs three schedulers on three stores sharing
// one etcd: every HTTP check is run by exactly one node, the one its
// instance's rendezvous hash names on every node; when a node leaves,
// its checks move to the survivors, which keep the stored status.
func TestSharedChecksRunOnce(t *testing.T) {
	c := etcdtest.Start(t, 1)
	hits := &hitLog{hits: map[string]map[string]int{}}
	backend := httptest.NewServer(hits)
	t.Cleanup(backend.Close)

	names := []string{"n1", "n2", "n3"}
	stores := map[string]*store.Store{}
	stops := map[string]func(){}
	for _, n := range names {
		stores[n] = openShared(t, c.Endpoints(), n)
	}
	for _, n := range names {
		waitFor(t, 5*time.Second, n+" sees all three settled", func() bool {
			return slices.Equal(stores[n].Ownership().Owners(), names)
		})
		_, stops[n] = start(t, stores[n], Config{Transport: nodeTagger{n, &http.Transport{MaxIdleConnsPerHost: 64}}})
	}
	// The store's shortest interval; a window of three holds two to four
	// runs of each check.
	const iv = time.Second
	var ids []string
	for i := range 12 {
		id := fmt.Sprintf("web%d", i)
		ids = append(ids, id)
		if _, err := stores["n1"].Register(store.Registration{ID: id, Name: "web", Port: 80 + i,
			Checks: []store.CheckSpec{{ID: id + "-http", HTTP: backend.URL + "/" + id, Interval: iv, Timeout: time.Second}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		waitFor(t, 5*time.Second, "every check passing on "+n, func() bool {
			for _, id := range ids {
				if statusOf(stores[n], id+"-http") != store.Passing {
					return false
				}
			}
			return true
		})
	}

	// runOnce checks that over three intervals each backend was hit only
	// by the node every live node names its owner, at most once per
	// interval.
	runOnce := func(live []string) {
		t.Helper()
		hits.take()
		time.Sleep(3 * iv)
		got := hits.take()
		owners := map[string]bool{}
		for _, id := range ids {
			owner := stores[live[0]].Ownership().Owner(id)
			for _, n := range live[1:] {
				if o := stores[n].Ownership().Owner(id); o != owner {
					t.Errorf("%s: %s says its owner is %s, %s says %s", id, live[0], owner, n, o)
				}
			}
			owners[owner] = true
			by := slices.Sorted(maps.Keys(got[id]))
			if !slices.Equal(by, []string{owner}) {
				t.Errorf("%s checked by %v in %s, want by its owner %s alone", id, by, 3*iv, owner)
			}
			if h := got[id][owner]; h > 4 {
				t.Errorf("%s checked %d times in %s at an interval of %s", id, h, 3*iv, iv)
			}
		}
		if len(owners) < 2 {
			t.Errorf("every check went to %v", owners)
		}
	}
	runOnce(names)

	stops["n3"]()
	if err := stores["n3"].Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names[:2] {
		waitFor(t, 2*time.Second, n+" shares the checks with the survivor", func() bool {
			return slices.Equal(stores[n].Ownership().Owners(), names[:2])
		})
	}
	runOnce(names[:2])
	for _, id := range ids {
		if statusOf(stores["n1"], id+"-http") != store.Passing {
			t.Errorf("%s is no longer passing after its check changed hands", id)
		}
	}
}

// TestCutOffNodeStopsChecking: a node whose connection to etcd is cut
// stops running checks within -node-ttl, before its lease can have
// expired, and the survivor runs all of them from then on.
func TestCutOffNodeStopsChecking(t *testing.T) {
	c := etcdtest.Start(t, 1)
	hits := &hitLog{hits: map[string]map[string]int{}}
	backend := httptest.NewServer(hits)
	t.Cleanup(backend.Close)
	p := etcdtest.NewProxy(t, c.Endpoints()[0])
	a := openSharedAt(t, []string{p.Addr}, "/cut", "a")
	b := openSharedAt(t, c.Endpoints(), "/cut", "b")
	for _, st := range []*store.Store{a, b} {
		waitFor(t, 5*time.Second, "both settled", func() bool { return slices.Equal(st.Ownership().Owners(), []string{"a", "b"}) })
	}
	start(t, a, Config{Transport: nodeTagger{"a", &http.Transport{}}})
	start(t, b, Config{Transport: nodeTagger{"b", &http.Transport{}}})
	var ids []string
	for i := range 8 {
		id := fmt.Sprintf("api%d", i)
		ids = append(ids, id)
		if _, err := b.Register(store.Registration{ID: id, Name: "api", Port: 80 + i,
			Checks: []store.CheckSpec{{ID: id + "-http", HTTP: backend.URL + "/" + id, Interval: time.Second, Timeout: time.Second}}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "a checks some instances", func() bool {
		got := 0
		hits.mu.Lock()
		for _, by := range hits.hits {
			got += by["a"]
		}
		hits.mu.Unlock()
		return got > 0
	})

	const ttl = 2 * time.Second // openSharedAt's NodeTTL
	p.Cut()
	time.Sleep(ttl)
	hits.take()
	time.Sleep(2 * time.Second)
	got := hits.take()
	for _, id := range ids {
		if got[id]["a"] > 0 {
			t.Errorf("%s checked by the cut-off node %s after it was cut off", id, ttl)
		}
		if got[id]["b"] == 0 {
			t.Errorf("%s not checked by the survivor in the 2s after the cut-off node's TTL", id)
		}
	}
}
