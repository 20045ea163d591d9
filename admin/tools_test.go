package admin

import (
	"slices"
	"strings"
	"testing"
	"time"

	capi "github.com/hashicorp/consul/api"
)

// TestRegistrator replays gliderlabs/registrator's Consul adapter
// (consul/consul.go): Ping is Status().Leader(); Register sends an
// AgentServiceRegistration whose Check buildCheck makes from container
// attributes (check_http, check_tcp, check_ttl, check_initial_status,
// check_deregister_after; check_script and check_cmd make script checks,
// which beacon refuses); Services lists Agent().Services() for -cleanup;
// Deregister is ServiceDeregister. Older registrator builds vendor a
// client that sends "Check":null and "Checks":null, replayed raw.
func TestRegistrator(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	agent := c.Agent()
	if leader, err := c.Status().Leader(); err != nil || leader == "" {
		t.Fatalf("Ping: %q, %v", leader, err)
	}
	regs := []*capi.AgentServiceRegistration{
		{ID: "host1:redis:6379", Name: "redis", Port: 6379, Address: "10.0.0.5", Tags: []string{"cache"}},
		{ID: "host1:web:80", Name: "web", Port: 80, Address: "10.0.0.6", Check: &capi.AgentServiceCheck{
			HTTP: "http://10.0.0.6:80/health", Timeout: "2s", Interval: "10s", Status: "passing", DeregisterCriticalServiceAfter: "1m"}},
		{ID: "host1:db:5432", Name: "db", Port: 5432, Address: "10.0.0.7", Check: &capi.AgentServiceCheck{TCP: "10.0.0.7:5432", Interval: "10s"}},
		{ID: "host1:worker:9000:udp", Name: "worker", Port: 9000, Address: "10.0.0.8", Tags: []string{"udp"}, Check: &capi.AgentServiceCheck{TTL: "15s"}},
	}
	for _, r := range regs {
		if err := agent.ServiceRegister(r); err != nil {
			t.Fatalf("Register %s: %v", r.ID, err)
		}
	}
	e.register(`{"ID":"host1:old:8080","Name":"old","Tags":null,"Port":8080,"Address":"10.0.0.9","EnableTagOverride":false,"Check":null,"Checks":null}`)
	err := agent.ServiceRegister(&capi.AgentServiceRegistration{ID: "host1:cron:1", Name: "cron", Port: 1,
		Check: &capi.AgentServiceCheck{Args: []string{"check-cmd", "abc", "1", "true"}, Interval: "10s"}})
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "script checks are not supported") {
		t.Errorf("script check: %v, want a 400 that says script checks are not supported", err)
	}

	svcs, err := agent.Services()
	if err != nil || len(svcs) != 5 {
		t.Fatalf("Services: %d, %v", len(svcs), err)
	}
	for _, r := range regs {
		s := svcs[r.ID]
		if s == nil || s.Service != r.Name || s.Port != r.Port || s.Address != r.Address || len(s.Tags) != len(r.Tags) {
			t.Errorf("Services()[%s] = %+v", r.ID, s)
		}
	}
	checks, err := agent.Checks()
	if err != nil || checks["service:host1:web:80"] == nil || checks["service:host1:web:80"].Status != capi.HealthPassing {
		t.Errorf("the check_initial_status check: %v, %v", checks["service:host1:web:80"], err)
	}
	for id := range svcs {
		if err := agent.ServiceDeregister(id); err != nil {
			t.Errorf("Deregister %s: %v", id, err)
		}
	}
	if svcs, _ = agent.Services(); len(svcs) != 0 {
		t.Errorf("after cleanup: %v", svcs)
	}
}

// TestConsulTemplate replays consul-template's dependencies: service
// (Health().Service, passing only unless a status filter is given, as a
// blocking query with stale allowed), services, nodes and datacenters,
// and a service in another datacenter, which fails.
func TestConsulTemplate(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	for _, r := range []*capi.AgentServiceRegistration{
		{ID: "web1", Name: "web", Address: "10.0.0.1", Port: 80, Tags: []string{"v1"}, Check: &capi.AgentServiceCheck{TTL: "30s", Status: capi.HealthPassing}},
		{ID: "web2", Name: "web", Address: "10.0.0.2", Port: 80, Tags: []string{"v2"}, Check: &capi.AgentServiceCheck{TTL: "30s"}},
	} {
		if err := c.Agent().ServiceRegister(r); err != nil {
			t.Fatal(err)
		}
	}
	health := c.Health()
	ids := func(entries []*capi.ServiceEntry) []string {
		var out []string
		for _, en := range entries {
			out = append(out, en.Service.ID)
		}
		return out
	}

	// {{ service "web" }}: healthy instances only.
	entries, qm, err := health.Service("web", "", true, &capi.QueryOptions{AllowStale: true})
	if err != nil || !slices.Equal(ids(entries), []string{"web1"}) {
		t.Fatalf(`service "web" = %v, %v`, ids(entries), err)
	}
	// The next render blocks on the index and wakes when web2 passes.
	type result struct {
		entries []*capi.ServiceEntry
		qm      *capi.QueryMeta
		err     error
	}
	done := make(chan result, 1)
	go func() {
		en, m, err := health.Service("web", "", true, &capi.QueryOptions{AllowStale: true, WaitIndex: qm.LastIndex, WaitTime: 20 * time.Second})
		done <- result{en, m, err}
	}()
	e.parkedAtLeast(1)
	if err := c.Agent().PassTTL("service:web2", ""); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.qm.LastIndex <= qm.LastIndex || !slices.Equal(ids(r.entries), []string{"web1", "web2"}) {
			t.Errorf("blocked service query = %v, %+v, %v", ids(r.entries), r.qm, r.err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("blocked service query did not return after web2 passed")
	}

	// {{ service "v2.web@dc1|any" }}: tag, datacenter, no health filter.
	entries, _, err = health.Service("web", "v2", false, &capi.QueryOptions{Datacenter: "dc1"})
	if err != nil || !slices.Equal(ids(entries), []string{"web2"}) {
		t.Errorf(`service "v2.web@dc1|any" = %v, %v`, ids(entries), err)
	}
	if _, _, err := health.Service("web", "", true, &capi.QueryOptions{Datacenter: "dc2"}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf(`service "web@dc2": %v, want a 404`, err)
	}
	if names, _, err := c.Catalog().Services(&capi.QueryOptions{AllowStale: true}); err != nil || !slices.Equal(names["web"], []string{"v1", "v2"}) {
		t.Errorf("services = %v, %v", names, err)
	}
	if nodes, _, err := c.Catalog().Nodes(&capi.QueryOptions{AllowStale: true}); err != nil || len(nodes) != 1 || nodes[0].Address != "127.0.0.1" {
		t.Errorf("nodes = %+v, %v", nodes, err)
	}
	if dcs, err := c.Catalog().Datacenters(); err != nil || !slices.Equal(dcs, []string{"dc1"}) {
		t.Errorf("datacenters = %v, %v", dcs, err)
	}
}
