package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/etcdtest"
	"github.com/beacon-dns/beacon/internal/testkit"
)

// startEtcdBeacons runs n beacon processes on one registry in etcd.
func startEtcdBeacons(t *testing.T, c *etcdtest.Cluster, n int) []*proc {
	t.Helper()
	var nodes []*proc
	for i := range n {
		nodes = append(nodes, startEtcdBeacon(t, c, fmt.Sprintf("b%d", i)))
	}
	return nodes
}

// startEtcdBeacon runs one beacon process named node on the registry of
// startEtcdBeacons; node names are unique among live nodes.
func startEtcdBeacon(t *testing.T, c *etcdtest.Cluster, node string) *proc {
	t.Helper()
	target := "etcd://" + strings.Join(c.Endpoints(), ",") + "/e2e"
	return startBeacon(t, t.TempDir(), testkit.Options{
		Args: []string{"-store", target, "-etcd-timeout", "1s", "-node", node},
	})
}

// aRecords returns the A records DNS gives for name, failing the test if
// DNS does not answer.
func aRecords(t *testing.T, p *proc, name string) []string {
	t.Helper()
	var out []string
	for _, rr := range p.query(t, name, dns.TypeA).Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

func index(t *testing.T, p *proc, path string) (uint64, http.Header) {
	t.Helper()
	resp, err := p.do(context.Background(), http.MethodGet, path, "")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	idx, err := strconv.ParseUint(resp.Header.Get("X-Consul-Index"), 10, 64)
	if err != nil {
		t.Fatalf("X-Consul-Index %q: %v", resp.Header.Get("X-Consul-Index"), err)
	}
	return idx, resp.Header
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEtcdNodes runs three beacon processes on a 3-member etcd: a write
// through one is read back at once there and shows in the others' DNS;
// with every etcd member frozen DNS and reads go on, writes fail fast
// with 503; after etcd resumes, and after a node is killed and restarted,
// every node serves the same registry.
func TestEtcdNodes(t *testing.T) {
	c := etcdtest.Start(t, 3)
	nodes := startEtcdBeacons(t, c, 3)
	w := nodes[0]
	w.mustDo(t, http.MethodPut, "/v1/agent/service/register", `{"ID":"web1","Name":"web","Address":"10.0.0.5","Port":8080}`)
	if !strings.Contains(w.mustDo(t, http.MethodGet, "/v1/catalog/service/web", ""), `"10.0.0.5"`) {
		t.Fatal("the node that took the write does not show it in its answer")
	}
	written, _ := index(t, w, "/v1/catalog/service/web")
	for _, p := range nodes[1:] {
		waitUntil(t, time.Second, "the write in another node's DNS", func() bool {
			a := aRecords(t, p, "web.service.local")
			return len(a) == 1 && a[0] == "10.0.0.5"
		})
		if idx, _ := index(t, p, "/v1/catalog/service/web"); idx != written {
			t.Errorf("X-Consul-Index %d on another node, %d where written", idx, written)
		}
	}

	for _, m := range c.Members {
		m.Signal(t, syscall.SIGSTOP)
	}
	frozen := true
	defer func() {
		if frozen {
			for _, m := range c.Members {
				m.Signal(t, syscall.SIGCONT)
			}
		}
	}()
	start := time.Now()
	resp, err := nodes[1].do(context.Background(), http.MethodPut, "/v1/agent/service/register", `{"ID":"web2","Name":"web","Address":"10.0.0.6"}`)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusServiceUnavailable || took > 1500*time.Millisecond ||
		!strings.Contains(string(body), "etcd") || strings.Count(strings.TrimSpace(string(body)), "\n") > 0 {
		t.Errorf("write with etcd frozen: %d after %s: %q; want one line naming etcd with 503 within 1.5s", resp.StatusCode, took, body)
	}
	for _, p := range nodes {
		waitUntil(t, 5*time.Second, "KnownLeader false while etcd is frozen", func() bool {
			_, h := index(t, p, "/v1/catalog/services")
			return h.Get("X-Consul-KnownLeader") == "false"
		})
		if a := aRecords(t, p, "web.service.local"); len(a) != 1 || a[0] != "10.0.0.5" {
			t.Errorf("DNS with etcd frozen answered %v", a)
		}
	}
	for _, m := range c.Members {
		m.Signal(t, syscall.SIGCONT)
	}
	frozen = false
	waitUntil(t, 20*time.Second, "a write succeeds after etcd resumes", func() bool {
		resp, err := nodes[1].do(context.Background(), http.MethodPut, "/v1/agent/service/register", `{"ID":"web2","Name":"web","Address":"10.0.0.6"}`)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	nodes[2].Kill()
	nodes[2] = startEtcdBeacon(t, c, "b3")
	want, _ := index(t, nodes[1], "/v1/catalog/service/web")
	for _, p := range nodes {
		waitUntil(t, 5*time.Second, "every node serves both instances", func() bool {
			return len(aRecords(t, p, "web.service.local")) == 2
		})
		idx, h := index(t, p, "/v1/catalog/service/web")
		if idx != want || h.Get("X-Consul-KnownLeader") != "true" {
			t.Errorf("a node answers at index %d with KnownLeader %s; want %d and true", idx, h.Get("X-Consul-KnownLeader"), want)
		}
	}
}

// TestEtcdLedgerAcrossKills registers through three beacon processes from
// six writers while the etcd leader and then one beacon node are killed
// with SIGKILL (the node is started again): every registration that was
// answered 200 is served by every node afterwards, at one index.
func TestEtcdLedgerAcrossKills(t *testing.T) {
	c := etcdtest.Start(t, 3)
	nodes := startEtcdBeacons(t, c, 3)
	var (
		mu    sync.Mutex
		acked []string
		live  = []*proc{nodes[0], nodes[1], nodes[2]}
	)
	pick := func(i int) *proc {
		mu.Lock()
		defer mu.Unlock()
		return live[i%len(live)]
	}
	stop := time.Now().Add(5 * time.Second)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000 && time.Now().Before(stop); i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				resp, err := pick(w+i).do(ctx, http.MethodPut, "/v1/agent/service/register",
					fmt.Sprintf(`{"ID":%q,"Name":"svc%d","Port":%d}`, id, i%3, 1000+i))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
					}
				}
				cancel()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	c.Leader(t).Kill(t)
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	victim := nodes[2]
	live = nodes[:2]
	mu.Unlock()
	victim.Kill()
	restarted := startEtcdBeacon(t, c, "b3")
	mu.Lock()
	live = []*proc{nodes[0], nodes[1], restarted}
	mu.Unlock()
	wg.Wait()
	t.Logf("%d registrations answered 200", len(acked))
	if len(acked) == 0 {
		t.Fatal("no registration succeeded")
	}
	ids := func(p *proc) map[string]bool {
		got := map[string]bool{}
		for s := range 3 {
			var list []struct{ ServiceID string }
			if err := json.Unmarshal([]byte(p.mustDo(t, http.MethodGet, fmt.Sprintf("/v1/catalog/service/svc%d", s), "")), &list); err != nil {
				t.Fatal(err)
			}
			for _, in := range list {
				got[in.ServiceID] = true
			}
		}
		return got
	}
	// Health results and heartbeats may still move the index, so the
	// nodes must agree with each other, not with one reading taken first.
	all := []*proc{nodes[0], nodes[1], restarted}
	waitUntil(t, 20*time.Second, "every node at one index", func() bool {
		first, _ := index(t, all[0], "/v1/catalog/services")
		for _, p := range all[1:] {
			if idx, _ := index(t, p, "/v1/catalog/services"); idx != first {
				return false
			}
		}
		return true
	})
	for _, p := range all {
		got := ids(p)
		for _, id := range acked {
			if !got[id] {
				t.Errorf("node at %s lost the acknowledged registration %s", p.HTTPAddr, id)
			}
		}
	}
}

// TestEtcdHealthChecks runs an HTTP check on two beacon nodes sharing a
// registry: its status, written through etcd by whichever node gets there
// first, puts the instance in and out of every node's DNS.
func TestEtcdHealthChecks(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer backend.Close()
	c := etcdtest.Start(t, 1)
	nodes := startEtcdBeacons(t, c, 2)
	nodes[0].mustDo(t, http.MethodPut, "/v1/agent/service/register", fmt.Sprintf(
		`{"ID":"api1","Name":"api","Address":"10.0.0.7","Check":{"HTTP":%q,"Interval":"1s"}}`, backend.URL))
	for _, want := range []int{1, 0} {
		for _, p := range nodes {
			waitUntil(t, 5*time.Second, fmt.Sprintf("%d passing instance(s) in DNS", want), func() bool {
				return len(aRecords(t, p, "api.service.local")) == want
			})
		}
		healthy.Store(false)
	}
}

// TestEtcdPausedNodeCatchesUp freezes one beacon process (SIGSTOP) while
// another changes the registry and etcd compacts past everything the
// frozen one had seen; resumed, it must serve the same registry at the
// same index as the other.
func TestEtcdPausedNodeCatchesUp(t *testing.T) {
	c := etcdtest.Start(t, 1)
	// The frozen node reaches etcd through a proxy that drops its
	// connections while it is frozen, so that on waking it must resume a
	// watch etcd has compacted, not drain events already on the wire.
	proxy := etcdtest.NewProxy(t, c.Endpoints()[0])
	nodes := []*proc{
		startEtcdBeacons(t, c, 1)[0],
		startBeacon(t, t.TempDir(), testkit.Options{Args: []string{"-store", "etcd://" + proxy.Addr + "/e2e", "-node", "frozen"}}),
	}
	for i := range 20 {
		nodes[0].mustDo(t, http.MethodPut, "/v1/agent/service/register", fmt.Sprintf(`{"ID":"p%d","Name":"paused","Address":"10.3.0.%d","Port":%d}`, i, i, 1000+i))
	}
	ids := func(p *proc) string {
		var list []struct{ ServiceID string }
		if err := json.Unmarshal([]byte(p.mustDo(t, http.MethodGet, "/v1/catalog/service/paused", "")), &list); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, in := range list {
			out = append(out, in.ServiceID)
		}
		return strings.Join(out, ",")
	}
	waitUntil(t, 2*time.Second, "both nodes hold 20", func() bool { return ids(nodes[1]) == ids(nodes[0]) })
	frozen := nodes[1]
	if err := syscall.Kill(frozen.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(frozen.PID(), syscall.SIGCONT)
	proxy.Cut()
	for i := range 10 {
		nodes[0].mustDo(t, http.MethodPut, fmt.Sprintf("/v1/agent/service/deregister/p%d", i), "")
	}
	for i := 20; i < 25; i++ {
		nodes[0].mustDo(t, http.MethodPut, "/v1/agent/service/register", fmt.Sprintf(`{"ID":"p%d","Name":"paused","Address":"10.3.0.%d","Port":%d}`, i, i, 1000+i))
	}
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	proxy.Restore()
	if err := syscall.Kill(frozen.PID(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	want, _ := index(t, nodes[0], "/v1/catalog/service/paused")
	waitUntil(t, 15*time.Second, "the resumed node serves the same registry at the same index", func() bool {
		got, _ := index(t, frozen, "/v1/catalog/service/paused")
		return got == want && ids(frozen) == ids(nodes[0])
	})
	if !strings.Contains(frozen.Log(), "reloading the registry") {
		t.Error("the resumed node caught up without reloading the registry: the test did not compact behind it")
	}
	if a := aRecords(t, frozen, "paused.service.local"); len(a) != 15 {
		t.Errorf("the resumed node's DNS has %d records, want 15", len(a))
	}
}
