package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	capi "github.com/hashicorp/consul/api"
)

// TestCatalogNode: GET /v1/catalog/node/:node, through the Consul Go
// client: the node and its instances, null for another node, with
// ?filter= on the services and the shared answer equal to the filtered
// path's.
func TestCatalogNode(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	registerWeb(t, c)
	if err := c.Agent().ServiceRegister(&capi.AgentServiceRegistration{ID: "db-1", Name: "db", Port: 5432, Tags: []string{"primary"}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"node1", "NODE1"} {
		n, qm, err := c.Catalog().Node(name, nil)
		if err != nil || n == nil || n.Node == nil {
			t.Fatalf("Catalog().Node(%s) = %+v, %v", name, n, err)
		}
		if n.Node.Node != "node1" || n.Node.Datacenter != "dc1" || n.Node.ID == "" || n.Node.Address != "127.0.0.1" || qm.LastIndex == 0 {
			t.Errorf("Node = %+v, index %d", n.Node, qm.LastIndex)
		}
		if len(n.Services) != 2 || n.Services["web-1"].Port != 8080 || n.Services["db-1"].Address != "" ||
			!slices.Equal(n.Services["db-1"].Tags, []string{"primary"}) {
			t.Errorf("Services = %+v", n.Services)
		}
	}
	if n, _, err := c.Catalog().Node("elsewhere", nil); err != nil || n != nil {
		t.Errorf("another node: %+v, %v; want null", n, err)
	}
	n, _, err := c.Catalog().Node("node1", &capi.QueryOptions{Filter: `Service == "db"`})
	if err != nil || len(n.Services) != 1 || n.Services["db-1"] == nil {
		t.Errorf("filtered: %+v, %v", n, err)
	}
	var shared, fresh map[string]any
	decode(t, e.must(200, "GET", "/v1/catalog/node/node1", ""), &shared)
	decode(t, e.must(200, "GET", "/v1/catalog/node/node1?filter=ID%20!%3D%20%22%22", ""), &fresh)
	if fmt.Sprint(shared) != fmt.Sprint(fresh) {
		t.Errorf("shared answer %v\ndiffers from %v", shared, fresh)
	}
	if r := e.must(200, "GET", "/v1/catalog/node/elsewhere", ""); r.body != "null\n" {
		t.Errorf("another node: %q", r.body)
	}
}

// TestHealthNode: GET /v1/health/node/:node holds the node's serfHealth
// check in Consul's shape and every check on the node, and a client
// waiting for its node to be healthy, as Consul's test server's
// WaitForSerfCheck does over HTTP, finds it.
func TestHealthNode(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")

	// WaitForSerfCheck: the first node of catalog/nodes?index=0, then
	// its checks.
	var nodes []map[string]any
	decode(t, e.must(200, "GET", "/v1/catalog/nodes?index=0", ""), &nodes)
	if len(nodes) != 1 {
		t.Fatalf("catalog/nodes = %v", nodes)
	}
	var checks []map[string]any
	decode(t, e.must(200, "GET", fmt.Sprintf("/v1/health/node/%s", nodes[0]["Node"]), ""), &checks)
	if len(checks) != 1 || checks[0]["CheckID"] != "serfHealth" || checks[0]["Status"] != "passing" {
		t.Fatalf("an empty node's checks = %v", checks)
	}
	serf := checks[0]
	for k, want := range map[string]any{"Node": "node1", "Name": "Serf Health Status", "Output": "Agent alive and reachable",
		"ServiceID": "", "ServiceName": "", "Notes": "", "Type": ""} {
		if serf[k] != want {
			t.Errorf("serfHealth %s = %v, want %v", k, serf[k], want)
		}
	}

	registerWeb(t, c)
	hc, qm, err := c.Health().Node("node1", nil)
	if err != nil || len(hc) != 4 || hc[0].CheckID != "serfHealth" || qm.LastIndex == 0 {
		t.Fatalf("Health().Node = %v, %v", hc, err)
	}
	if hc.AggregatedStatus() != capi.HealthCritical {
		t.Errorf("aggregated %s, want critical (new checks start critical)", hc.AggregatedStatus())
	}
	only, _, err := c.Health().Node("node1", &capi.QueryOptions{Filter: "ServiceID == ``"})
	if err != nil || len(only) != 1 || only[0].CheckID != "serfHealth" {
		t.Errorf("node checks only: %v, %v", only, err)
	}
	svc, _, err := c.Health().Node("node1", &capi.QueryOptions{Filter: "ServiceName == web"})
	if err != nil || len(svc) != 3 {
		t.Errorf("web's checks: %v, %v", svc, err)
	}
	if other, _, err := c.Health().Node("elsewhere", nil); err != nil || len(other) != 0 {
		t.Errorf("another node: %v, %v", other, err)
	}

	// It blocks on ?index= and wakes on a change.
	done := make(chan capi.HealthChecks, 1)
	go func() {
		hc, _, _ := c.Health().Node("node1", &capi.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 10 * time.Second})
		done <- hc
	}()
	e.parkedAtLeast(1)
	if err := c.Agent().PassTTL("web-1-ttl", "ok"); err != nil {
		t.Fatal(err)
	}
	select {
	case hc := <-done:
		i := slices.IndexFunc(hc, func(h *capi.HealthCheck) bool { return h.CheckID == "web-1-ttl" })
		if i < 0 || hc[i].Status != capi.HealthPassing {
			t.Errorf("after the change: %v", hc)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked read did not return after a change")
	}
}

// TestAgentMembers: GET /v1/agent/members lists this node, as a live
// Consul server of its datacenter, in the LAN and WAN pools.
func TestAgentMembers(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	lan, err := c.Agent().Members(false)
	if err != nil || len(lan) != 1 {
		t.Fatalf("Members(false) = %v, %v", lan, err)
	}
	m := lan[0]
	if m.Name != "node1" || m.Addr != "127.0.0.1" || m.Port != 8301 || m.Status != 1 ||
		m.Tags["role"] != "consul" || m.Tags["dc"] != "dc1" || !m.IsConsulServer() {
		t.Errorf("member = %+v", m)
	}
	wan, err := c.Agent().Members(true)
	if err != nil || len(wan) != 1 || wan[0].Name != "node1.dc1" || wan[0].Port != 8302 {
		t.Errorf("Members(true) = %+v, %v", wan, err)
	}
	cases := []struct {
		opts capi.MembersOpts
		want int
	}{
		{capi.MembersOpts{Segment: capi.AllSegments}, 1},
		{capi.MembersOpts{Segment: "other"}, 0},
		{capi.MembersOpts{Filter: `Name == "node1"`}, 1},
		{capi.MembersOpts{Filter: `Tags.role == "client"`}, 0},
	}
	for _, k := range cases {
		if got, err := c.Agent().MembersOpts(k.opts); err != nil || len(got) != k.want {
			t.Errorf("MembersOpts(%+v) = %d, %v; want %d", k.opts, len(got), err, k.want)
		}
	}
	if _, err := c.Agent().MembersOpts(capi.MembersOpts{WAN: true, Segment: "other"}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("WAN with a segment: %v, want 400", err)
	}
	var self map[string]map[string]any
	decode(t, e.must(200, "GET", "/v1/agent/self", ""), &self)
	if self["Member"]["Name"] != "node1" || self["Member"]["Port"] != float64(8301) {
		t.Errorf("agent/self Member = %v", self["Member"])
	}
}

// TestNodeMaintenance: PUT /v1/agent/maintenance puts every instance of
// the node in maintenance and takes them out again, leaving an
// instance's own maintenance as it was.
func TestNodeMaintenance(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	for _, id := range []string{"a", "b", "own"} {
		if err := c.Agent().ServiceRegister(&capi.AgentServiceRegistration{ID: id, Name: "web", Port: 80}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Agent().EnableServiceMaintenance("own", "my reason"); err != nil {
		t.Fatal(err)
	}
	notes := func() map[string]string {
		checks, err := c.Agent().Checks()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for id, ck := range checks {
			if ck.Status != capi.HealthCritical {
				t.Errorf("maintenance check %s is %s", id, ck.Status)
			}
			out[ck.ServiceID] = ck.Notes
		}
		return out
	}
	if err := c.Agent().EnableNodeMaintenance("kernel update"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "Node maintenance: kernel update", "b": "Node maintenance: kernel update", "own": "my reason"}
	if got := notes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("in node maintenance: %v, want %v", got, want)
	}
	if passing, _, err := c.Health().Service("web", "", true, nil); err != nil || len(passing) != 0 {
		t.Errorf("passing instances in node maintenance: %d, %v", len(passing), err)
	}
	if status, _, err := c.Agent().AgentHealthServiceByName("web"); err != nil || status != capi.HealthCritical {
		t.Errorf("agent health in node maintenance: %s, %v", status, err)
	}
	// Enabling again with another reason updates the note; with none,
	// Consul's default note is used.
	if err := c.Agent().EnableNodeMaintenance(""); err != nil {
		t.Fatal(err)
	}
	if got := notes()["a"]; got != "Node maintenance: "+defaultNodeMaintenance {
		t.Errorf("default note %q", got)
	}
	if err := c.Agent().DisableNodeMaintenance(); err != nil {
		t.Fatal(err)
	}
	if got := notes(); fmt.Sprint(got) != fmt.Sprint(map[string]string{"own": "my reason"}) {
		t.Errorf("after node maintenance: %v", got)
	}
	for _, bad := range []string{"", "?enable=maybe", "?enable=true&reason=" + strings.Repeat("r", 1024)} {
		r := e.must(http.StatusBadRequest, "PUT", "/v1/agent/maintenance"+bad, "")
		errorLine(t, r)
	}
}

// TestAgentHealthService: the agent health endpoints answer 200, 429 and
// 503 by aggregated status with Consul's JSON, or the status alone as
// text, and the Consul Go client reads them.
func TestAgentHealthService(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	for _, id := range []string{"p", "w", "x"} {
		err := c.Agent().ServiceRegister(&capi.AgentServiceRegistration{ID: id, Name: "api", Port: 80,
			Checks: capi.AgentServiceChecks{{CheckID: id + "-ttl", TTL: "1m", Status: capi.HealthPassing}, {CheckID: id + "-2", TTL: "1m", Status: capi.HealthPassing}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Agent().ServiceRegister(&capi.AgentServiceRegistration{ID: "solo", Name: "solo", Port: 81}); err != nil {
		t.Fatal(err)
	}
	mustTTL := func(id, status string) {
		if err := c.Agent().UpdateTTL(id, "", status); err != nil {
			t.Fatal(err)
		}
	}
	mustTTL("w-ttl", capi.HealthWarning)
	mustTTL("x-2", capi.HealthCritical)

	cases := []struct {
		id, status string
		code       int
	}{
		{"p", capi.HealthPassing, 200},
		{"w", capi.HealthWarning, 429},
		{"x", capi.HealthCritical, 503},
		{"solo", capi.HealthPassing, 200},
	}
	for _, k := range cases {
		status, info, err := c.Agent().AgentHealthServiceByID(k.id)
		if err != nil || status != k.status || info == nil || info.AggregatedStatus != k.status || info.Service.ID != k.id || info.Service.Datacenter != "dc1" {
			t.Errorf("%s: %s, %+v, %v", k.id, status, info, err)
		}
		r := e.do("GET", "/v1/agent/health/service/id/"+k.id+"?format=text", "")
		if r.code != k.code || r.body != k.status || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s as text: %d %q", k.id, r.code, r.body)
		}
		if r := e.do("GET", "/v1/agent/health/service/id/"+k.id, "", "Accept", "text/plain"); r.body != k.status {
			t.Errorf("%s with Accept: text/plain: %q", k.id, r.body)
		}
	}
	if info := mustInfo(t, e, "/v1/agent/health/service/id/x", 503); len(info.Checks) != 2 || info.Checks[0].ServiceID != "x" {
		t.Errorf("checks of x: %+v", info.Checks)
	}

	status, infos, err := c.Agent().AgentHealthServiceByName("api")
	if err != nil || status != capi.HealthCritical || len(infos) != 3 {
		t.Errorf("by name: %s, %d, %v", status, len(infos), err)
	}
	if r := e.do("GET", "/v1/agent/health/service/name/API?format=text", ""); r.code != 503 || r.body != "critical" {
		t.Errorf("by name as text: %d %q", r.code, r.body)
	}
	mustTTL("x-2", capi.HealthPassing)
	if r := e.do("GET", "/v1/agent/health/service/name/api?format=text", ""); r.code != 429 || r.body != "warning" {
		t.Errorf("by name, worst warning: %d %q", r.code, r.body)
	}

	// Maintenance: 503 with Consul's "maintenance".
	if err := c.Agent().EnableServiceMaintenance("p", "drain"); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/v1/agent/health/service/id/p?format=text", ""); r.code != 503 || r.body != "maintenance" {
		t.Errorf("in maintenance: %d %q", r.code, r.body)
	}

	// Unknown: 404, which the client reads as critical with nothing.
	if status, info, err := c.Agent().AgentHealthServiceByID("nope"); err != nil || status != capi.HealthCritical || info != nil {
		t.Errorf("unknown ID: %s, %+v, %v", status, info, err)
	}
	if status, infos, err := c.Agent().AgentHealthServiceByName("nope"); err != nil || status != capi.HealthCritical || infos != nil {
		t.Errorf("unknown name: %s, %+v, %v", status, infos, err)
	}
	r := e.do("GET", "/v1/agent/health/service/id/nope", "")
	if r.code != 404 || strings.TrimSpace(r.body) != `{"AggregatedStatus":"critical","Service":null,"Checks":null}` {
		t.Errorf("unknown ID as JSON: %d %s", r.code, r.body)
	}
	if r := e.do("GET", "/v1/agent/health/service/id/nope?format=text", ""); r.code != 404 || r.body != "ServiceId nope not found" {
		t.Errorf("unknown ID as text: %d %q", r.code, r.body)
	}
	if r := e.do("GET", "/v1/agent/health/service/name/nope?format=text", ""); r.code != 404 || r.body != "ServiceName nope Not Found" {
		t.Errorf("unknown name as text: %d %q", r.code, r.body)
	}
}

func mustInfo(t *testing.T, e *env, path string, code int) serviceChecksInfoJSON {
	t.Helper()
	r := e.do("GET", path, "")
	if r.code != code {
		t.Fatalf("%s: %d %s", path, r.code, r.body)
	}
	var out serviceChecksInfoJSON
	if err := json.Unmarshal([]byte(r.body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAgentSelfStats: agent/self's Stats has the sections `consul info`
// prints, each an object of strings, as that command requires.
func TestAgentSelfStats(t *testing.T) {
	e := newEnv(t, Config{Version: "v9.9.9"})
	c := consulClient(t, e, "")
	registerWeb(t, c)
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	stats, ok := self["Stats"]
	if !ok {
		t.Fatal("no Stats")
	}
	want := map[string]map[string]string{
		"agent":   {"services": "1", "checks": "3", "check_ttls": "1"},
		"build":   {"version": consulVersion},
		"consul":  {"server": "true", "leader": "true", "leader_addr": "127.0.0.1:8300", "acl": "disabled"},
		"runtime": {"os": "linux"},
		"beacon":  {"version": "v9.9.9", "instances": "1", "services": "1", "check_http": "1", "check_tcp": "1"},
	}
	for section, keys := range want {
		sub, ok := stats[section].(map[string]any)
		if !ok {
			t.Errorf("Stats[%s] = %T, want an object", section, stats[section])
			continue
		}
		for k, v := range sub {
			if _, isString := v.(string); !isString {
				t.Errorf("Stats[%s][%s] = %T; consul info prints strings", section, k, v)
			}
		}
		for k, v := range keys {
			if sub[k] != v {
				t.Errorf("Stats[%s][%s] = %v, want %v", section, k, sub[k], v)
			}
		}
	}
}
