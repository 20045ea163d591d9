package admin

import (
	"slices"
	"strings"
	"testing"
	"time"

	capi "github.com/hashicorp/consul/api"
	"github.com/hashicorp/consul/api/watch"
	"github.com/hashicorp/go-hclog"
)

// traefikItem is what Traefik's Consul catalog provider builds per
// instance (pkg/provider/consulcatalog itemData).
type traefikItem struct {
	ID, Node, Address, Status string
	Port                      int
}

// traefikItems lists instances as Traefik v3's getConsulServicesData
// does: Catalog().Services, then per service whose tags enable it,
// Health().Service with the enable tag as filter; the status comes from a
// map keyed by Node.ID+Service.ID, the address falls back to the node's.
func traefikItems(t *testing.T, c *capi.Client, enableTag string) []traefikItem {
	t.Helper()
	opts := &capi.QueryOptions{AllowStale: true, UseCache: true}
	names, _, err := c.Catalog().Services(opts)
	if err != nil {
		t.Fatalf("Catalog().Services: %v", err)
	}
	var out []traefikItem
	for name, tags := range names {
		if !slices.Contains(tags, enableTag) {
			continue
		}
		entries, _, err := c.Health().Service(name, enableTag, false, opts)
		if err != nil {
			t.Fatalf("Health().Service(%s): %v", name, err)
		}
		statuses := map[string]string{}
		for _, h := range entries {
			statuses[h.Node.ID+h.Service.ID] = h.Checks.AggregatedStatus()
		}
		for _, en := range entries {
			addr := en.Service.Address
			if addr == "" {
				addr = en.Node.Address
			}
			out = append(out, traefikItem{ID: en.Service.ID, Node: en.Node.Node, Address: addr,
				Status: statuses[en.Node.ID+en.Service.ID], Port: en.Service.Port})
		}
	}
	slices.SortFunc(out, func(a, b traefikItem) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// TestTraefikConsulCatalog replays Traefik's Consul catalog provider with
// watch on (the v3 default): it runs the "services" and "checks" plans of
// github.com/hashicorp/consul/api/watch (RunWithClientAndHclog, as there), which block on catalog/services
// and health/state/any, and rebuilds its configuration on each event.
// Traefik v2 zipped Catalog().Service with Health().Service by position
// instead, which needs both in the same order.
func TestTraefikConsulCatalog(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	// Each plan's results, in order; the test looks for the result it
	// expects, so an event it has no use for is passed over, never lost
	// to another plan.
	events := map[string]chan any{"services": make(chan any, 64), "checks": make(chan any, 64)}
	for typ, ch := range events {
		plan, err := watch.Parse(map[string]any{"type": typ})
		if err != nil {
			t.Fatal(err)
		}
		plan.HybridHandler = func(_ watch.BlockingParamVal, raw any) {
			select {
			case ch <- raw:
			default: // full: the test has failed already
			}
		}
		done := make(chan error, 1)
		go func() { done <- plan.RunWithClientAndHclog(c, hclog.NewNullLogger()) }()
		t.Cleanup(func() { plan.Stop(); <-done })
	}
	expect := func(typ string, what string, ok func(raw any) bool) {
		t.Helper()
		deadline := time.After(2 * time.Second)
		for {
			select {
			case raw := <-events[typ]:
				if ok(raw) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s watch event with %s", typ, what)
			}
		}
	}
	anything := func(any) bool { return true }
	hasService := func(name string) func(any) bool {
		return func(raw any) bool { _, ok := raw.(map[string][]string)[name]; return ok }
	}
	checkIs := func(id, status string) func(any) bool {
		return func(raw any) bool {
			for _, c := range raw.([]*capi.HealthCheck) {
				if c.CheckID == id {
					return c.Status == status
				}
			}
			return status == ""
		}
	}
	expect("services", "the first answer", anything)
	expect("checks", "the first answer", anything)

	const enable = "traefik.enable=true"
	for _, r := range []*capi.AgentServiceRegistration{
		{ID: "whoami-1", Name: "whoami", Address: "10.0.0.1", Port: 80, Tags: []string{enable, "traefik.http.routers.whoami.rule=Host(`whoami`)"},
			Check: &capi.AgentServiceCheck{CheckID: "whoami-1-ttl", TTL: "30s"}},
		{ID: "whoami-2", Name: "whoami", Address: "10.0.0.2", Port: 80, Tags: []string{enable},
			Check: &capi.AgentServiceCheck{CheckID: "whoami-2-ttl", TTL: "30s", Status: capi.HealthPassing}},
		{ID: "hidden-1", Name: "hidden", Address: "10.0.0.3", Port: 81},
	} {
		if err := c.Agent().ServiceRegister(r); err != nil {
			t.Fatal(err)
		}
	}
	expect("services", "whoami", hasService("whoami"))
	expect("checks", "whoami-1-ttl critical", checkIs("whoami-1-ttl", capi.HealthCritical))
	want := []traefikItem{
		{ID: "whoami-1", Node: "node1", Address: "10.0.0.1", Status: capi.HealthCritical, Port: 80},
		{ID: "whoami-2", Node: "node1", Address: "10.0.0.2", Status: capi.HealthPassing, Port: 80},
	}
	if got := traefikItems(t, c, enable); !slices.Equal(got, want) {
		t.Errorf("items = %+v, want %+v", got, want)
	}

	// A heartbeat is a checks event, and the status follows it.
	if err := c.Agent().UpdateTTL("whoami-1-ttl", "up", capi.HealthPassing); err != nil {
		t.Fatal(err)
	}
	expect("checks", "whoami-1-ttl passing", checkIs("whoami-1-ttl", capi.HealthPassing))
	want[0].Status = capi.HealthPassing
	if got := traefikItems(t, c, enable); !slices.Equal(got, want) {
		t.Errorf("after the heartbeat, items = %+v, want %+v", got, want)
	}

	// Traefik v2: catalog and health entries zipped by position.
	cat, _, err := c.Catalog().Service("whoami", enable, nil)
	if err != nil {
		t.Fatal(err)
	}
	health, _, err := c.Health().Service("whoami", enable, false, nil)
	if err != nil || len(health) != len(cat) {
		t.Fatalf("%d catalog and %d health entries, %v", len(cat), len(health), err)
	}
	for i := range cat {
		if cat[i].ServiceID != health[i].Service.ID || cat[i].ID != health[i].Node.ID {
			t.Errorf("entry %d: catalog %s/%s, health %s/%s", i, cat[i].ID, cat[i].ServiceID, health[i].Node.ID, health[i].Service.ID)
		}
	}

	// Deregistration takes the instance's check with it: a checks event
	// (the list of services and tags is the same, so no services event).
	if err := c.Agent().ServiceDeregister("whoami-2"); err != nil {
		t.Fatal(err)
	}
	expect("checks", "whoami-2-ttl gone", checkIs("whoami-2-ttl", ""))
	if got := traefikItems(t, c, enable); len(got) != 1 || got[0].ID != "whoami-1" {
		t.Errorf("after deregistration, items = %+v", got)
	}
}
