package admin

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/beacon-dns/beacon/store"
)

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not an object: %s", raw)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func hasKeys(t *testing.T, what string, raw json.RawMessage, want ...string) {
	t.Helper()
	got := keysOf(t, raw)
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("%s lacks %q; has %v", what, k, got)
		}
	}
}

// TestConsulShapes checks field names against Consul's documented
// answers, and that lists and maps are [] and {}, never null.
func TestConsulShapes(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()

	var entries []map[string]json.RawMessage
	decode(t, e.must(200, "GET", "/v1/health/service/web", ""), &entries)
	if len(entries) != 2 {
		t.Fatalf("got %d entries", len(entries))
	}
	hasKeys(t, "health entry", mustRaw(t, entries[0]), "Node", "Service", "Checks")
	hasKeys(t, "Node", entries[0]["Node"], "ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta", "CreateIndex", "ModifyIndex")
	hasKeys(t, "Service", entries[0]["Service"], "ID", "Service", "Tags", "Meta", "Port", "Address", "TaggedAddresses", "Weights", "EnableTagOverride", "Proxy", "Connect", "CreateIndex", "ModifyIndex")
	// The Service of a health entry is Consul's NodeService, which has no
	// Datacenter or ContentHash, and an empty Proxy config for a typical
	// service.
	if keys := keysOf(t, entries[0]["Service"]); slices.Contains(keys, "Datacenter") || slices.Contains(keys, "ContentHash") {
		t.Errorf("health entry Service has AgentService-only keys: %v", keys)
	}
	var svc map[string]json.RawMessage
	_ = json.Unmarshal(entries[0]["Service"], &svc)
	if string(svc["Proxy"]) != `{"Mode":"","MeshGateway":{},"Expose":{}}` || string(svc["Connect"]) != "{}" {
		t.Errorf("Proxy = %s, Connect = %s", svc["Proxy"], svc["Connect"])
	}
	if string(svc["TaggedAddresses"]) != `{"lan_ipv4":{"Address":"10.0.0.1","Port":8080},"wan_ipv4":{"Address":"10.0.0.1","Port":8080}}` {
		t.Errorf("TaggedAddresses = %s", svc["TaggedAddresses"])
	}
	if string(entries[0]["Node"]) == "" || !strings.Contains(string(entries[0]["Node"]), `"Meta":{"consul-network-segment":""}`) {
		t.Errorf("Node = %s", entries[0]["Node"])
	}
	if string(entries[0]["Checks"]) != "[]" {
		t.Errorf("web1 has no checks; Checks = %s, want []", entries[0]["Checks"])
	}
	var checks []json.RawMessage
	_ = json.Unmarshal(entries[1]["Checks"], &checks)
	hasKeys(t, "check", checks[0], "Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName", "ServiceTags", "Type", "Definition", "CreateIndex", "ModifyIndex")

	var cat []json.RawMessage
	decode(t, e.must(200, "GET", "/v1/catalog/service/db", ""), &cat)
	hasKeys(t, "catalog entry", cat[0], "ID", "Node", "Address", "Datacenter", "TaggedAddresses", "NodeMeta",
		"ServiceID", "ServiceName", "ServiceTags", "ServiceAddress", "ServicePort", "ServiceMeta", "ServiceWeights",
		"ServiceEnableTagOverride", "ServiceTaggedAddresses", "ServiceProxy", "ServiceConnect", "CreateIndex", "ModifyIndex")
	var db catalogServiceJSON
	_ = json.Unmarshal(cat[0], &db)
	if db.ServiceTags == nil || db.ServiceMeta == nil || !strings.Contains(string(cat[0]), `"ServiceTags":[]`) {
		t.Errorf("empty tags/meta must be [] and {}: %s", cat[0])
	}

	var services map[string]json.RawMessage
	decode(t, e.must(200, "GET", "/v1/catalog/services", ""), &services)
	if string(services["db"]) != "[]" || string(services["web"]) != `["primary","v1","v2"]` {
		t.Errorf("catalog/services = %v", services)
	}

	var agent map[string]json.RawMessage
	decode(t, e.must(200, "GET", "/v1/agent/services", ""), &agent)
	if len(agent) != 3 {
		t.Fatalf("agent/services has %d entries", len(agent))
	}
	hasKeys(t, "agent service", agent["web1"], "ID", "Service", "Tags", "Meta", "Port", "Address", "Weights", "EnableTagOverride", "Datacenter")

	r := e.must(200, "GET", "/v1/agent/service/web1", "")
	var one map[string]json.RawMessage
	decode(t, r, &one)
	if r.header.Get("X-Consul-ContentHash") == "" || string(one["ContentHash"]) != `"`+r.header.Get("X-Consul-ContentHash")+`"` {
		t.Errorf("ContentHash missing or unlike its header: %s vs %q", one["ContentHash"], r.header.Get("X-Consul-ContentHash"))
	}

	var self map[string]map[string]any
	decode(t, e.must(200, "GET", "/v1/agent/self", ""), &self)
	if self["Config"]["Datacenter"] != "dc1" || self["Config"]["NodeName"] != "node1" || self["Member"]["Name"] != "node1" || self["Member"]["Addr"] != "127.0.0.1" {
		t.Errorf("agent/self = %v", self)
	}
	if seg, ok := self["Meta"]["consul-network-segment"]; !ok || seg != "" || self["DebugConfig"]["ConnectEnabled"] != false {
		t.Errorf("agent/self Meta = %v, DebugConfig = %v", self["Meta"], self["DebugConfig"])
	}

	if b := e.must(200, "GET", "/v1/status/leader", "").body; b != "\"127.0.0.1:8300\"\n" {
		t.Errorf("status/leader = %q", b)
	}
	if b := e.must(200, "GET", "/v1/status/peers", "").body; b != "[\"127.0.0.1:8300\"]\n" {
		t.Errorf("status/peers = %q", b)
	}
	if b := e.must(200, "GET", "/v1/catalog/datacenters", "").body; b != "[\"dc1\"]\n" {
		t.Errorf("catalog/datacenters = %q", b)
	}
	var nodes []nodeJSON
	decode(t, e.must(200, "GET", "/v1/catalog/nodes", ""), &nodes)
	if len(nodes) != 1 || nodes[0].Node != "node1" || nodes[0].Address != "127.0.0.1" || nodes[0].ID == "" || nodes[0].TaggedAddresses["lan"] != "127.0.0.1" {
		t.Errorf("catalog/nodes = %+v", nodes)
	}
	if b := e.must(200, "GET", "/v1/catalog/datacenters?pretty", "").body; !strings.Contains(b, "\n    \"dc1\"") {
		t.Errorf("?pretty did not indent: %q", b)
	}
}

func mustRaw(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTagsPassingNodeMeta covers ?tag= (repeatable, all must match),
// ?passing (warning counts as not passing, as in Consul) and ?node-meta=
// (our node has none, so it matches nothing).
func TestTagsPassingNodeMeta(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	e.register(`{"ID":"web3","Name":"web","Address":"10.0.0.3","Port":8080,"Tags":["v1"],"Check":{"TTL":"30s","Status":"warning"}}`)
	ids := func(path string) []string {
		var entries []serviceEntryJSON
		decode(t, e.must(200, "GET", path, ""), &entries)
		var out []string
		for _, en := range entries {
			out = append(out, en.Service.ID)
		}
		return out
	}
	cases := []struct {
		path string
		want []string
	}{
		{"/v1/health/service/web", []string{"web1", "web2", "web3"}},
		{"/v1/health/service/WEB", []string{"web1", "web2", "web3"}},
		{"/v1/health/service/web?tag=v1", []string{"web1", "web3"}},
		{"/v1/health/service/web?tag=V1&tag=primary", []string{"web1"}},
		{"/v1/health/service/web?passing", []string{"web1", "web2"}},
		{"/v1/health/service/web?passing=1", []string{"web1", "web2"}},
		{"/v1/health/service/web?passing=false", []string{"web1", "web2", "web3"}},
		{"/v1/health/service/web?passing&tag=v1", []string{"web1"}},
		{"/v1/health/service/web?node-meta=rack:r1", nil},
		{"/v1/health/service/web?node-meta=consul-network-segment:", []string{"web1", "web2", "web3"}},
		{"/v1/health/service/web?node-meta=consul-network-segment:&node-meta=rack:r1", nil},
		{"/v1/health/service/web?peer=other", nil},
		{"/v1/health/service/web?ns=team-a", nil},
		{"/v1/health/service/web?namespace=team-a", nil},
		{"/v1/health/service/web?partition=eu", nil},
		{"/v1/health/service/web?ns=*", []string{"web1", "web2", "web3"}},
		{"/v1/health/service/web?dc=dc1&stale&cached&near=_agent&ns=default&partition=default", []string{"web1", "web2", "web3"}},
		{"/v1/health/service/none", nil},
	}
	for _, c := range cases {
		if got := ids(c.path); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.path, got, c.want)
		}
	}
	var cat []catalogServiceJSON
	decode(t, e.must(200, "GET", "/v1/catalog/service/web?tag=v2", ""), &cat)
	if len(cat) != 1 || cat[0].ServiceID != "web2" {
		t.Errorf("catalog tag filter: %+v", cat)
	}
	var names map[string][]string
	decode(t, e.must(200, "GET", "/v1/catalog/services?node-meta=k:v", ""), &names)
	if len(names) != 0 {
		t.Errorf("node-meta on catalog/services: %v", names)
	}
}

// TestHealthChecksAndStates covers health/checks/:name and
// health/state/:state, with maintenance mode adding a critical check; the
// node's serfHealth check is among the passing ones, as in Consul.
func TestHealthChecksAndStates(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	e.must(http.StatusOK, "PUT", "/v1/agent/service/maintenance/web1?enable=true&reason=deploy", "")
	count := func(path string) []checkJSON {
		var out []checkJSON
		decode(t, e.must(200, "GET", path, ""), &out)
		return out
	}
	if got := count("/v1/health/checks/web"); len(got) != 2 {
		t.Errorf("health/checks/web: %d checks, want 2", len(got))
	}
	crit := count("/v1/health/state/critical")
	if len(crit) != 1 || crit[0].CheckID != "_service_maintenance:web1" || crit[0].Name != "Service Maintenance Mode" || crit[0].Notes != "deploy" {
		t.Errorf("health/state/critical = %+v", crit)
	}
	if got := count("/v1/health/state/passing"); len(got) != 2 || got[0].CheckID != "serfHealth" || got[1].CheckID != "service:web2" {
		t.Errorf("health/state/passing = %+v", got)
	}
	if got := count("/v1/health/state/warning"); len(got) != 0 {
		t.Errorf("health/state/warning = %+v", got)
	}
	if got := count("/v1/health/state/any"); len(got) != 3 {
		t.Errorf("health/state/any = %d checks", len(got))
	}
	var entries []serviceEntryJSON
	decode(t, e.must(200, "GET", "/v1/health/service/web?passing", ""), &entries)
	if len(entries) != 1 || entries[0].Service.ID != "web2" {
		t.Errorf("an instance in maintenance is not passing: %+v", entries)
	}
	e.must(http.StatusOK, "PUT", "/v1/agent/service/maintenance/web1?enable=false", "")
	if got := count("/v1/health/state/critical"); len(got) != 0 {
		t.Errorf("maintenance off left %v", got)
	}
}

// TestAgentChecksAndTTL covers agent/checks and every TTL update form.
func TestAgentChecksAndTTL(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	status := func() (store.Status, string) {
		c, _ := e.st.Snapshot().Check("service:web2")
		return c.Status, c.Output
	}
	steps := []struct {
		method, path, body string
		status             store.Status
		output             string
	}{
		{"PUT", "/v1/agent/check/warn/service:web2?note=slow", "", store.Warning, "slow"},
		{"PUT", "/v1/agent/check/fail/service:web2", "", store.Critical, ""},
		{"PUT", "/v1/agent/check/pass/service:web2?note=back", "", store.Passing, "back"},
		{"PUT", "/v1/agent/check/update/service:web2", `{"Status":"warning","Output":"disk 91%"}`, store.Warning, "disk 91%"},
		{"PUT", "/v1/agent/check/update/service:web2", `{"status":"critical","output":"down"}`, store.Critical, "down"},
	}
	for _, s := range steps {
		e.must(200, s.method, s.path, s.body)
		if st, out := status(); st != s.status || out != s.output {
			t.Errorf("%s %s: status %s %q, want %s %q", s.method, s.path, st, out, s.status, s.output)
		}
	}
	var checks map[string]checkJSON
	decode(t, e.must(200, "GET", "/v1/agent/checks", ""), &checks)
	c := checks["service:web2"]
	if c.Status != "critical" || c.Output != "down" || c.Type != "ttl" || c.ServiceID != "web2" || c.ServiceName != "web" || c.Definition.TTL != "30s" {
		t.Errorf("agent/checks entry = %+v", c)
	}
	e.must(200, "PUT", "/v1/agent/check/register", `{"ID":"web1-http","Name":"http","ServiceID":"web1","HTTP":"http://127.0.0.1:8080/health","Interval":"10s","Timeout":"1s"}`)
	r := e.must(400, "PUT", "/v1/agent/check/pass/web1-http", "")
	if !strings.Contains(r.body, "TTL") {
		t.Errorf("pass on an HTTP check: %q should say only TTL checks take updates", r.body)
	}
	decode(t, e.must(200, "GET", "/v1/agent/checks", ""), &checks)
	d := checks["web1-http"].Definition
	if d.HTTP != "http://127.0.0.1:8080/health" || d.Interval != "10s" || d.Timeout != "1s" || d.Method != "GET" {
		t.Errorf("HTTP check definition = %+v", d)
	}
	e.must(200, "PUT", "/v1/agent/check/deregister/web1-http", "")
	if c, _ := e.st.Snapshot().Check("web1-http"); c != nil {
		t.Errorf("check still present after deregister")
	}
}

// TestTTLOutputTruncated: a TTL report's output over 4 KiB is cut as
// Consul's CheckTTL.SetStatus cuts it, with a note of what was kept, by
// every form of report.
func TestTTLOutputTruncated(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	long := strings.Repeat("x", 5000)
	want := strings.Repeat("x", 4096) + " ... (captured 4096 of 5000 bytes)"
	for _, r := range []struct{ name, path, body string }{
		{"update", "/v1/agent/check/update/service:web2", `{"Status":"warning","Output":"` + long + `"}`},
		{"pass", "/v1/agent/check/pass/service:web2?note=" + long, ""},
	} {
		e.must(200, "PUT", r.path, r.body)
		if c, _ := e.st.Snapshot().Check("service:web2"); c.Output != want {
			t.Errorf("%s: output of %d bytes ending %q", r.name, len(c.Output), c.Output[max(0, len(c.Output)-40):])
		}
	}
}
