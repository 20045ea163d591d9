package admin

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// TestPrometheusConsulSD replays what Prometheus' consul_sd_configs sends
// (discovery/consul/consul.go with the Consul Go client): Agent().Self()
// for the datacenter, then Catalog().Services and, per service,
// Health().ServiceMultipleTags, as blocking queries with allow_stale
// (on by default), a 2m watch timeout, and node_meta and tags when set.
// Older Prometheus used Catalog().Service per service instead. The
// client's parameters reach the server sorted, as url.Values encodes.
func TestPrometheusConsulSD(t *testing.T) {
	e := newEnv(t, Config{Token: secret})
	auth := []string{"X-Consul-Token", secret, "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(":"))}
	get := func(path string) reply { return e.must(200, "GET", path, "", auth...) }
	e.must(200, "PUT", "/v1/agent/service/register", `{"ID":"node-exporter-1","Name":"node-exporter","Address":"10.0.0.7","Port":9100,"Tags":["prod","metrics"],"Meta":{"team":"infra"}}`, auth...)

	var self map[string]map[string]any
	decode(t, get("/v1/agent/self"), &self)
	if self["Config"]["Datacenter"] != "dc1" {
		t.Fatalf("Config.Datacenter = %v", self["Config"]["Datacenter"])
	}

	// First catalog call: no index yet.
	r := get("/v1/catalog/services?stale=&wait=120000ms")
	var services map[string][]string
	decode(t, r, &services)
	if !slices.Equal(services["node-exporter"], []string{"metrics", "prod"}) {
		t.Fatalf("catalog/services = %v", services)
	}
	catIdx := indexOf(t, r)

	// Per service: health with tags, no passing filter.
	r = get("/v1/health/service/node-exporter?stale=&tag=prod&wait=120000ms")
	var entries []serviceEntryJSON
	decode(t, r, &entries)
	if len(entries) != 1 || entries[0].Service.Address != "10.0.0.7" || entries[0].Service.Port != 9100 ||
		entries[0].Node.Node != "node1" || entries[0].Node.Address != "127.0.0.1" || entries[0].Service.Meta["team"] != "infra" {
		t.Fatalf("health/service = %+v", entries)
	}
	svcIdx := indexOf(t, r)

	// Prometheus' rule: an answer with the same index means the watch
	// timed out with no update. The wait here is short to keep the test
	// quick; the client sends milliseconds in the same form.
	r = get(fmt.Sprintf("/v1/health/service/node-exporter?index=%d&stale=&tag=prod&wait=300ms", svcIdx))
	if indexOf(t, r) != svcIdx {
		t.Errorf("timed-out watch moved the index from %d to %d", svcIdx, indexOf(t, r))
	}
	r = get(fmt.Sprintf("/v1/catalog/services?index=%d&stale=&wait=300ms", catIdx))
	if indexOf(t, r) != catIdx {
		t.Errorf("timed-out catalog watch moved the index from %d to %d", catIdx, indexOf(t, r))
	}

	// A change wakes the per-service watch with a new index.
	p := e.start(fmt.Sprintf("/v1/health/service/node-exporter?index=%d&stale=&tag=prod&token=%s&wait=120000ms", svcIdx, secret))
	e.parkedAtLeast(1)
	e.must(200, "PUT", "/v1/agent/service/register", `{"ID":"node-exporter-2","Name":"node-exporter","Address":"10.0.0.8","Port":9100,"Tags":["prod"]}`, auth...)
	r = p.wait(t, 2*time.Second)
	decode(t, r, &entries)
	if indexOf(t, r) <= svcIdx || len(entries) != 2 {
		t.Errorf("after a change: index %d (was %d), %d entries", indexOf(t, r), svcIdx, len(entries))
	}

	// node_meta: our node has no meta, so nothing matches.
	decode(t, get("/v1/catalog/services?node-meta=rack%3Aa&stale=&wait=120000ms"), &services)
	if len(services) != 0 {
		t.Errorf("node-meta catalog = %v", services)
	}
	entries = nil
	decode(t, get("/v1/health/service/node-exporter?node-meta=rack%3Aa&stale=&wait=120000ms"), &entries)
	if len(entries) != 0 {
		t.Errorf("node-meta health = %v", entries)
	}
	// datacenter set in the config: dc= on every call.
	get("/v1/health/service/node-exporter?dc=dc1&stale=&wait=120000ms")
	// Newer Prometheus passes its filter option through.
	decode(t, get("/v1/catalog/services?filter=ServiceTags+contains+%22metrics%22&stale=&wait=120000ms"), &services)
	if len(services) != 1 {
		t.Errorf("filtered catalog = %v", services)
	}
	// Older Prometheus: catalog/service per service.
	var cat []catalogServiceJSON
	decode(t, get("/v1/catalog/service/node-exporter?stale=&tag=prod&wait=120000ms"), &cat)
	if len(cat) != 2 || cat[0].ServiceAddress != "10.0.0.7" {
		t.Errorf("catalog/service = %+v", cat)
	}
}

// TestSpringCloudConsul replays Spring Cloud Consul: registration with a
// TTL check through the ecwid consul-api client (token as ?token=), its
// TtlScheduler's heartbeats PUT /v1/agent/check/pass/service:<instanceId>
// (newer releases send X-Consul-Token and may add ?note=), and its
// discovery reads.
func TestSpringCloudConsul(t *testing.T) {
	e := newEnv(t, Config{Token: secret})
	body := `{"ID":"orders-8080","Name":"orders","Tags":["secure=false"],"Address":"10.1.2.3","Meta":{"secure":"false"},"Port":8080,` +
		`"EnableTagOverride":false,"Check":{"DeregisterCriticalServiceAfter":"90m","TTL":"30s"}}`
	e.must(200, "PUT", "/v1/agent/service/register?token="+secret, body)
	c, _ := e.st.Snapshot().Check("service:orders-8080")
	if c == nil || c.Status != store.Critical || c.TTL != 30*time.Second {
		t.Fatalf("TTL check = %+v", c)
	}

	e.must(200, "PUT", "/v1/agent/check/pass/service:orders-8080?token="+secret, "")
	if c, _ := e.st.Snapshot().Check("service:orders-8080"); c.Status != store.Passing {
		t.Errorf("after heartbeat: %s", c.Status)
	}
	e.must(200, "PUT", "/v1/agent/check/pass/service:orders-8080?note=UP", "", "X-Consul-Token", secret)
	e.must(200, "PUT", "/v1/agent/check/fail/service:orders-8080?note=DOWN", "", "X-Consul-Token", secret)
	if c, _ := e.st.Snapshot().Check("service:orders-8080"); c.Status != store.Critical || c.Output != "DOWN" {
		t.Errorf("after fail: %s %q", c.Status, c.Output)
	}
	e.must(200, "PUT", "/v1/agent/check/pass/service:orders-8080", "", "X-Consul-Token", secret)
	// A heartbeat for an unknown instance is 404 (as Consul ≥ 1.9 answers).
	r := e.must(404, "PUT", "/v1/agent/check/pass/service:gone-8080?token="+secret, "")
	errorLine(t, r)

	// Discovery: ecwid's getHealthServices(name, passing=true) and the
	// catalog watch (wait=55s by default; shorter here).
	var entries []serviceEntryJSON
	decode(t, e.must(200, "GET", "/v1/health/service/orders?passing=true&token="+secret, ""), &entries)
	if len(entries) != 1 || entries[0].Service.ID != "orders-8080" {
		t.Errorf("passing orders = %+v", entries)
	}
	idx := indexOf(t, e.must(200, "GET", "/v1/catalog/services?token="+secret, ""))
	r = e.must(200, "GET", fmt.Sprintf("/v1/catalog/services?wait=1s&index=%d&token=%s", idx, secret), "")
	if indexOf(t, r) != idx {
		t.Errorf("catalog watch index moved without a change")
	}
	e.must(200, "PUT", "/v1/agent/service/deregister/orders-8080?token="+secret, "")
}

// TestPrometheusHTTPSD checks GET /v1/prometheus/targets against the
// http_sd_configs format: groups of host:port targets sharing labels.
func TestPrometheusHTTPSD(t *testing.T) {
	e := newEnv(t, Config{})
	e.register(`{"ID":"a1","Name":"api","Address":"10.0.0.1","Port":80,"Tags":["v1","blue"],"Meta":{"team-name":"core"}}`)
	e.register(`{"ID":"a2","Name":"api","Address":"10.0.0.2","Port":80,"Tags":["blue","v1"],"Meta":{"team-name":"core"}}`)
	e.register(`{"ID":"a3","Name":"api","Address":"2001:db8::3","Port":81,"Tags":["v1","blue"],"Meta":{"team-name":"core"},"Check":{"TTL":"30s"}}`)
	e.register(`{"ID":"b1","Name":"batch","Address":"10.0.0.9","Port":0}`)
	e.register(`{"ID":"c1","Name":"cache","Address":"cache.internal","Port":6379,"Check":{"TTL":"30s","Status":"warning"}}`)
	var groups []targetGroup
	decode(t, e.must(200, "GET", "/v1/prometheus/targets", ""), &groups)
	if len(groups) != 3 {
		t.Fatalf("got %d groups, want 3: %+v", len(groups), groups)
	}
	want := []struct {
		targets []string
		service string
		health  string
	}{
		{[]string{"10.0.0.1:80", "10.0.0.2:80"}, "api", "passing"},
		{[]string{"[2001:db8::3]:81"}, "api", "critical"},
		{[]string{"cache.internal:6379"}, "cache", "warning"},
	}
	name := regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	for i, w := range want {
		g := groups[i]
		if !slices.Equal(g.Targets, w.targets) || g.Labels[labelService] != w.service || g.Labels[labelHealth] != w.health {
			t.Errorf("group %d = %+v, want targets %v service %s health %s", i, g, w.targets, w.service, w.health)
		}
		for k := range g.Labels {
			if !name.MatchString(k) {
				t.Errorf("label %q is not a valid Prometheus label name", k)
			}
		}
	}
	if g := groups[0]; g.Labels[labelTags] != ",blue,v1," || g.Labels[labelMeta+"team_name"] != "core" || g.Labels[labelDC] != "dc1" || g.Labels[labelNode] != "node1" {
		t.Errorf("labels = %v", g.Labels)
	}
}
