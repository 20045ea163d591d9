package admin

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	capi "github.com/hashicorp/consul/api"

	"github.com/beacon-dns/beacon/store"
)

// consulClient returns the unmodified Consul Go client pointed at e.
func consulClient(t *testing.T, e *env, token string) *capi.Client {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	c, err := capi.NewClient(&capi.Config{Address: u.Host, Scheme: "http", Token: token})
	if err != nil {
		t.Fatalf("consul client: %v", err)
	}
	return c
}

func registerWeb(t *testing.T, c *capi.Client) {
	t.Helper()
	err := c.Agent().ServiceRegister(&capi.AgentServiceRegistration{
		ID: "web-1", Name: "web", Address: "127.0.0.1", Port: 8080, Tags: []string{"v1", "blue"},
		Meta:    map[string]string{"version": "1.4"},
		Weights: &capi.AgentWeights{Passing: 10, Warning: 1},
		Checks: capi.AgentServiceChecks{
			{CheckID: "web-1-http", Name: "http", HTTP: "http://127.0.0.1:8080/health", Interval: "10s", Timeout: "2s", Method: "GET",
				Header: map[string][]string{"X-Probe": {"beacon"}}, DeregisterCriticalServiceAfter: "1m"},
			{CheckID: "web-1-tcp", TCP: "127.0.0.1:8080", Interval: "5s"},
			{CheckID: "web-1-ttl", TTL: "30s", Notes: "heartbeat"},
		},
	})
	if err != nil {
		t.Fatalf("ServiceRegister: %v", err)
	}
}

// TestConsulClient drives the API with github.com/hashicorp/consul/api.
func TestConsulClient(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	agent, health, catalog := c.Agent(), c.Health(), c.Catalog()
	registerWeb(t, c)

	svcs, err := agent.Services()
	if err != nil || svcs["web-1"] == nil {
		t.Fatalf("Agent().Services() = %v, %v", svcs, err)
	}
	s := svcs["web-1"]
	if s.Service != "web" || s.Port != 8080 || s.Weights.Passing != 10 || s.Meta["version"] != "1.4" || !slices.Equal(s.Tags, []string{"v1", "blue"}) {
		t.Errorf("AgentService = %+v", s)
	}
	checks, err := agent.Checks()
	if err != nil || len(checks) != 3 {
		t.Fatalf("Agent().Checks() = %v, %v", checks, err)
	}
	if h := checks["web-1-http"]; h.Type != "http" || h.Status != "critical" || h.Definition.HTTP != "http://127.0.0.1:8080/health" ||
		h.Definition.IntervalDuration != 10*time.Second || h.Definition.TimeoutDuration != 2*time.Second ||
		h.Definition.DeregisterCriticalServiceAfterDuration != time.Minute {
		t.Errorf("http check = %+v", h)
	}

	if err := agent.UpdateTTL("web-1-ttl", "all good", capi.HealthPassing); err != nil {
		t.Fatalf("UpdateTTL: %v", err)
	}
	if ck, _ := e.st.Snapshot().Check("web-1-ttl"); ck.Status != store.Passing || ck.Output != "all good" {
		t.Errorf("after UpdateTTL: %s %q", ck.Status, ck.Output)
	}
	for _, f := range []func(string, string) error{agent.WarnTTL, agent.FailTTL, agent.PassTTL} {
		if err := f("web-1-ttl", "legacy"); err != nil {
			t.Fatalf("legacy TTL call: %v", err)
		}
	}

	entries, meta, err := health.Service("web", "v1", false, nil)
	if err != nil || len(entries) != 1 || meta.LastIndex == 0 || !meta.KnownLeader {
		t.Fatalf("Health().Service = %v, %+v, %v", entries, meta, err)
	}
	if en := entries[0]; en.Node.Node != "node1" || en.Service.ID != "web-1" || len(en.Checks) != 3 || en.Checks.AggregatedStatus() != capi.HealthCritical {
		t.Errorf("entry = %+v", en)
	}
	if entries, _, _ = health.Service("web", "", true, nil); len(entries) != 0 {
		t.Errorf("passingOnly with critical checks gave %d entries", len(entries))
	}
	for _, id := range []string{"web-1-http", "web-1-tcp"} {
		if err := e.st.SetCheckStatus(id, store.Passing, "ok"); err != nil {
			t.Fatal(err)
		}
	}
	if entries, _, _ = health.Service("web", "", true, nil); len(entries) != 1 {
		t.Errorf("passingOnly with passing checks gave %d entries", len(entries))
	}
	if entries, _, _ = health.Service("web", "green", false, nil); len(entries) != 0 {
		t.Errorf("tag filter gave %d entries", len(entries))
	}
	if entries, _, _ = health.ServiceMultipleTags("web", []string{"v1", "blue"}, true, &capi.QueryOptions{AllowStale: true}); len(entries) != 1 {
		t.Errorf("ServiceMultipleTags gave %d entries", len(entries))
	}

	cs, _, err := catalog.Service("web", "blue", nil)
	if err != nil || len(cs) != 1 || cs[0].ServiceAddress != "127.0.0.1" || cs[0].ServicePort != 8080 || cs[0].Datacenter != "dc1" || cs[0].ServiceWeights.Passing != 10 {
		t.Errorf("Catalog().Service = %+v, %v", cs, err)
	}
	nodes, _, err := catalog.Nodes(nil)
	if err != nil || len(nodes) != 1 || nodes[0].Node != "node1" {
		t.Errorf("Catalog().Nodes = %+v, %v", nodes, err)
	}
	if dcs, err := catalog.Datacenters(); err != nil || !slices.Equal(dcs, []string{"dc1"}) {
		t.Errorf("Catalog().Datacenters = %v, %v", dcs, err)
	}
	if leader, err := c.Status().Leader(); err != nil || leader != "127.0.0.1:8300" {
		t.Errorf("Status().Leader = %q, %v", leader, err)
	}
	if peers, err := c.Status().Peers(); err != nil || !slices.Equal(peers, []string{"127.0.0.1:8300"}) {
		t.Errorf("Status().Peers = %v, %v", peers, err)
	}
	if st, _, err := health.State(capi.HealthPassing, nil); err != nil || len(st) != 4 {
		t.Errorf("Health().State(passing) = %d checks, %v", len(st), err)
	}
	if hc, _, err := health.Checks("web", nil); err != nil || len(hc) != 3 {
		t.Errorf("Health().Checks = %d checks, %v", len(hc), err)
	}

	self, err := agent.Self()
	if err != nil || self["Config"]["Datacenter"] != "dc1" || self["Config"]["NodeName"] != "node1" {
		t.Errorf("Agent().Self() = %v, %v", self, err)
	}
	if name, err := agent.NodeName(); err != nil || name != "node1" {
		t.Errorf("Agent().NodeName() = %q, %v", name, err)
	}

	if err := agent.EnableServiceMaintenance("web-1", "deploying"); err != nil {
		t.Fatalf("EnableServiceMaintenance: %v", err)
	}
	if entries, _, _ = health.Service("web", "", true, nil); len(entries) != 0 {
		t.Errorf("in maintenance, passingOnly gave %d entries", len(entries))
	}
	checks, _ = agent.Checks()
	if m := checks["_service_maintenance:web-1"]; m == nil || m.Status != "critical" || m.Notes != "deploying" {
		t.Errorf("maintenance check = %+v", m)
	}
	if err := agent.DisableServiceMaintenance("web-1"); err != nil {
		t.Fatalf("DisableServiceMaintenance: %v", err)
	}
	if entries, _, _ = health.Service("web", "", true, nil); len(entries) != 1 {
		t.Errorf("after maintenance, passingOnly gave %d entries", len(entries))
	}

	if err := agent.CheckRegister(&capi.AgentCheckRegistration{ID: "web-1-extra", Name: "extra", ServiceID: "web-1",
		AgentServiceCheck: capi.AgentServiceCheck{TTL: "1m", Status: capi.HealthWarning}}); err != nil {
		t.Fatalf("CheckRegister: %v", err)
	}
	if ck, _ := e.st.Snapshot().Check("web-1-extra"); ck == nil || ck.Status != store.Warning {
		t.Errorf("registered check = %+v", ck)
	}
	if err := agent.CheckDeregister("web-1-extra"); err != nil {
		t.Fatalf("CheckDeregister: %v", err)
	}
	err = agent.ServiceRegisterOpts(&capi.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 8080,
		Check: &capi.AgentServiceCheck{CheckID: "web-1-ttl", TTL: "30s"}}, capi.ServiceRegisterOpts{ReplaceExistingChecks: true})
	if err != nil {
		t.Fatalf("ServiceRegisterOpts: %v", err)
	}
	if n := len(e.st.Snapshot().Instance("web-1").Checks); n != 1 {
		t.Errorf("ReplaceExistingChecks left %d checks, want 1", n)
	}

	if err := agent.ServiceDeregister("web-1"); err != nil {
		t.Fatalf("ServiceDeregister: %v", err)
	}
	if svcs, _ = agent.Services(); len(svcs) != 0 {
		t.Errorf("after deregister: %v", svcs)
	}
	if err := agent.ServiceDeregister("web-1"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("deregistering twice: %v, want a 404", err)
	}
}

// TestConsulClientBlocking: Catalog().Services as a blocking query blocks
// until a change and returns promptly after it.
func TestConsulClientBlocking(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	registerWeb(t, c)
	_, meta, err := c.Catalog().Services(nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		services map[string][]string
		meta     *capi.QueryMeta
		err      error
		at       time.Time
	}
	done := make(chan result, 1)
	go func() {
		s, m, err := c.Catalog().Services(&capi.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 20 * time.Second, AllowStale: true})
		done <- result{s, m, err, time.Now()}
	}()
	e.parkedAtLeast(1)
	// A health change leaves the list of services alone: still blocked.
	if err := c.Agent().UpdateTTL("web-1-ttl", "", capi.HealthPassing); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("returned before any catalog change: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	changed := time.Now()
	if err := c.Agent().ServiceRegister(&capi.AgentServiceRegistration{Name: "api", Port: 9090, Tags: []string{"rest"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.meta.LastIndex <= meta.LastIndex || !slices.Equal(r.services["api"], []string{"rest"}) {
			t.Errorf("blocking Services = %v, %+v, %v", r.services, r.meta, r.err)
		}
		t.Logf("returned %s after the registration", r.at.Sub(changed))
	case <-time.After(2 * time.Second):
		t.Fatal("blocking Services did not return after a change")
	}

	// Agent().Service blocks on the content hash.
	_, qm, err := c.Agent().Service("web-1", nil)
	if err != nil || qm.LastContentHash == "" {
		t.Fatalf("Agent().Service: %+v, %v", qm, err)
	}
	start := time.Now()
	_, qm2, err := c.Agent().Service("web-1", &capi.QueryOptions{WaitHash: qm.LastContentHash, WaitTime: 200 * time.Millisecond})
	if err != nil || qm2.LastContentHash != qm.LastContentHash || time.Since(start) < 200*time.Millisecond {
		t.Errorf("hash-blocking Service returned after %s: %+v, %v", time.Since(start), qm2, err)
	}
}

// TestConsulClientToken: with a token set, the client works with it and
// fails without it.
func TestConsulClientToken(t *testing.T) {
	e := newEnv(t, Config{Token: secret})
	registerWeb(t, consulClient(t, e, secret))
	if _, err := consulClient(t, e, secret).Agent().Self(); err != nil {
		t.Errorf("Self with the token: %v", err)
	}
	_, _, err := consulClient(t, e, "").Health().Service("web", "", false, nil)
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("Health().Service without a token: %v, want 403", err)
	}
	if leader, err := consulClient(t, e, "").Status().Leader(); err != nil || leader == "" {
		t.Errorf("Status().Leader stays open: %q, %v", leader, err)
	}
}
