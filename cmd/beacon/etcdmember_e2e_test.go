package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/etcdtest"
	"github.com/beacon-dns/beacon/internal/testkit"
)

// liveNodes reads the node names from /v1/catalog/nodes, /v1/agent/members
// and the addresses from /v1/status/peers of p, failing the test when the
// three disagree on how many nodes there are.
func liveNodes(t *testing.T, p *proc) []string {
	t.Helper()
	var nodes []struct{ Node, Address string }
	var members []struct{ Name, Addr string }
	var peers []string
	for path, v := range map[string]any{"/v1/catalog/nodes": &nodes, "/v1/agent/members": &members, "/v1/status/peers": &peers} {
		if err := json.Unmarshal([]byte(p.mustDo(t, "GET", path, "")), v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var names, memberNames []string
	for _, n := range nodes {
		names = append(names, n.Node)
	}
	for _, m := range members {
		memberNames = append(memberNames, m.Name)
	}
	if !slices.Equal(names, memberNames) || len(peers) != len(names) {
		t.Fatalf("catalog/nodes %v, agent/members %v and status/peers %v disagree", names, memberNames, peers)
	}
	return names
}

// TestEtcdMembers runs three beacon processes on one etcd: each lists all
// three as live nodes; a fourth with a name already live is refused at
// start with one line saying so once the name stayed held for -node-ttl;
// a node killed with SIGKILL leaves every survivor's list within
// -node-ttl, and restarted at once joins again.
func TestEtcdMembers(t *testing.T) {
	c := etcdtest.Start(t, 1)
	target := "etcd://" + strings.Join(c.Endpoints(), ",") + "/members"
	const ttl = 2 * time.Second
	var nodes []*proc
	for _, name := range []string{"b0", "b1", "b2"} {
		nodes = append(nodes, startBeacon(t, t.TempDir(), testkit.Options{
			Args: []string{"-store", target, "-etcd-timeout", "1s", "-node-ttl", ttl.String(), "-node", name},
		}))
	}
	all := []string{"b0", "b1", "b2"}
	for _, p := range nodes {
		waitUntil(t, 2*time.Second, "every node lists all three", func() bool { return slices.Equal(liveNodes(t, p), all) })
	}
	if m := nodes[0].mustDo(t, "GET", "/metrics", ""); !strings.Contains(m, "beacon_cluster_members 3") {
		t.Error("beacon_cluster_members is not 3")
	}

	// The instances are shared out: each is shown by agent/services and
	// agent/checks on exactly one node, and the nodes' beacon_checks_owned
	// add up to every HTTP check.
	backend := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(backend.Close)
	const n = 9
	for i := range n {
		nodes[0].mustDo(t, "PUT", "/v1/agent/service/register", fmt.Sprintf(
			`{"ID":"web%d","Name":"web","Port":%d,"Check":{"CheckID":"web%d-http","HTTP":%q,"Interval":"1s"}}`, i, 8000+i, i, backend.URL))
	}
	waitUntil(t, 5*time.Second, "every instance shown by exactly one node", func() bool {
		seen, checks, owned := map[string]int{}, 0, 0
		for _, p := range nodes {
			var svcs map[string]json.RawMessage
			var chks map[string]json.RawMessage
			json.Unmarshal([]byte(p.mustDo(t, "GET", "/v1/agent/services", "")), &svcs)
			json.Unmarshal([]byte(p.mustDo(t, "GET", "/v1/agent/checks", "")), &chks)
			for id := range svcs {
				seen[id]++
			}
			checks += len(chks)
			owned += metricValue(p.mustDo(t, "GET", "/metrics", ""), "beacon_checks_owned")
		}
		for _, c := range seen {
			if c != 1 {
				return false
			}
		}
		return len(seen) == n && checks == n && owned == n
	})

	dup := launch(t, t.TempDir(), testkit.Options{Args: []string{"-store", target, "-node-ttl", ttl.String(), "-node", "b1"}})
	code, err := dup.Wait(15 * time.Second)
	if err != nil {
		t.Fatalf("a second live b1: %v", err)
	}
	last := testkit.LastLines(dup.Log(), 1)
	if code == 0 || !strings.HasPrefix(last, `beacon: -node "b1" is held by a live beacon node`) || strings.Count(strings.TrimSpace(last), "\n") > 0 {
		t.Fatalf("a second live b1 exited %d; log:\n%s", code, testkit.LastLines(dup.Log(), 5))
	}
	t.Logf("refused: %s", last)

	nodes[1].Kill()
	start := time.Now()
	for _, p := range []*proc{nodes[0], nodes[2]} {
		waitUntil(t, ttl+3*time.Second, "the killed node leaves", func() bool { return slices.Equal(liveNodes(t, p), []string{"b0", "b2"}) })
	}
	t.Logf("b1 left the survivors' lists %s after SIGKILL (-node-ttl %s)", time.Since(start).Round(10*time.Millisecond), ttl)

	// Restarted at once after the crash, b1 waits for its dead self's
	// lease to expire and joins again.
	nodes[1] = startBeacon(t, t.TempDir(), testkit.Options{
		Args: []string{"-store", target, "-etcd-timeout", "1s", "-node-ttl", ttl.String(), "-node", "b1"},
	})
	waitUntil(t, 2*time.Second, "b1 joins again", func() bool { return slices.Equal(liveNodes(t, nodes[0]), all) })

	// A node that stops cleanly leaves at once.
	if _, err := nodes[2].Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Second, "a node that stopped leaves at once", func() bool { return slices.Equal(liveNodes(t, nodes[0]), []string{"b0", "b1"}) })
}

// metricValue reads an integer gauge without labels from a scrape.
func metricValue(scrape, name string) int {
	for _, line := range strings.Split(scrape, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}
