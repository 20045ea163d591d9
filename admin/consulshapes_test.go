package admin

import (
	"reflect"
	"testing"

	capi "github.com/hashicorp/consul/api"
)

// TestConsulClientShapes reads back, through the Consul Go client, the
// parts of Consul's answers that beacon derives rather than stores:
// service tagged addresses (agent.go addServiceInternal adds lan_ipv4 and
// wan_ipv4, or _ipv6, for an IP address), the empty Proxy and Connect of
// a typical service in catalog and health entries (structs.ServiceNode,
// structs.NodeService), the node meta every agent reports, node-meta
// filtering, ?peer= and the query backend header.
func TestConsulClientShapes(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	agent, health, catalog := c.Agent(), c.Health(), c.Catalog()
	registerWeb(t, c)
	for _, r := range []*capi.AgentServiceRegistration{
		{ID: "web-6", Name: "web", Address: "2001:db8::6", Port: 8086},
		{ID: "web-h", Name: "web", Address: "web.internal", Port: 8087},
	} {
		if err := agent.ServiceRegister(r); err != nil {
			t.Fatal(err)
		}
	}
	v4 := map[string]capi.ServiceAddress{"lan_ipv4": {Address: "127.0.0.1", Port: 8080}, "wan_ipv4": {Address: "127.0.0.1", Port: 8080}}
	v6 := map[string]capi.ServiceAddress{"lan_ipv6": {Address: "2001:db8::6", Port: 8086}, "wan_ipv6": {Address: "2001:db8::6", Port: 8086}}
	want := map[string]map[string]capi.ServiceAddress{"web-1": v4, "web-6": v6, "web-h": nil}

	svcs, err := agent.Services()
	if err != nil {
		t.Fatal(err)
	}
	for id, w := range want {
		if got := svcs[id].TaggedAddresses; !reflect.DeepEqual(got, w) {
			t.Errorf("Agent().Services()[%s].TaggedAddresses = %v, want %v", id, got, w)
		}
	}
	if one, _, err := agent.Service("web-1", nil); err != nil || !reflect.DeepEqual(one.TaggedAddresses, v4) {
		t.Errorf("Agent().Service(web-1).TaggedAddresses = %v, %v", one, err)
	}

	entries, qm, err := health.Service("web", "", false, nil)
	if err != nil || len(entries) != 3 {
		t.Fatalf("Health().Service = %d entries, %v", len(entries), err)
	}
	if qm.QueryBackend != capi.QueryBackendBlockingQuery {
		t.Errorf("QueryBackend = %q, want %q", qm.QueryBackend, capi.QueryBackendBlockingQuery)
	}
	for _, en := range entries {
		if !reflect.DeepEqual(en.Service.TaggedAddresses, want[en.Service.ID]) {
			t.Errorf("health entry %s TaggedAddresses = %v", en.Service.ID, en.Service.TaggedAddresses)
		}
		if en.Service.Proxy == nil || en.Service.Connect == nil {
			t.Errorf("health entry %s lacks Proxy or Connect: %+v", en.Service.ID, en.Service)
		}
		if seg, ok := en.Node.Meta["consul-network-segment"]; !ok || seg != "" {
			t.Errorf("health entry Node.Meta = %v", en.Node.Meta)
		}
	}
	cs, _, err := catalog.Service("web", "", nil)
	if err != nil || len(cs) != 3 {
		t.Fatalf("Catalog().Service = %d, %v", len(cs), err)
	}
	for _, s := range cs {
		if !reflect.DeepEqual(s.ServiceTaggedAddresses, want[s.ServiceID]) || s.ServiceProxy == nil {
			t.Errorf("catalog entry %s: ServiceTaggedAddresses %v, ServiceProxy %v", s.ServiceID, s.ServiceTaggedAddresses, s.ServiceProxy)
		}
		if _, ok := s.NodeMeta["consul-network-segment"]; !ok {
			t.Errorf("catalog entry NodeMeta = %v", s.NodeMeta)
		}
	}
	nodes, _, err := catalog.Nodes(nil)
	if err != nil || len(nodes) != 1 || nodes[0].Meta == nil {
		t.Fatalf("Catalog().Nodes = %+v, %v", nodes, err)
	}
	if _, ok := nodes[0].Meta["consul-network-segment"]; !ok {
		t.Errorf("node Meta = %v", nodes[0].Meta)
	}

	// node-meta filters on the node's meta; peer names a cluster peer,
	// and beacon has none, so nothing is imported from it.
	cases := []struct {
		name string
		opts *capi.QueryOptions
		want int
	}{
		{"node meta that matches", &capi.QueryOptions{NodeMeta: map[string]string{"consul-network-segment": ""}}, 3},
		{"node meta that does not", &capi.QueryOptions{NodeMeta: map[string]string{"rack": "a"}}, 0},
		{"peer", &capi.QueryOptions{Peer: "other-cluster"}, 0},
	}
	for _, k := range cases {
		if got, _, err := health.Service("web", "", false, k.opts); err != nil || len(got) != k.want {
			t.Errorf("%s: Health().Service = %d entries, %v; want %d", k.name, len(got), err, k.want)
		}
		if got, _, err := catalog.Service("web", "", k.opts); err != nil || len(got) != k.want {
			t.Errorf("%s: Catalog().Service = %d entries, %v; want %d", k.name, len(got), err, k.want)
		}
		if got, _, err := catalog.Nodes(k.opts); err != nil || len(got) != min(k.want, 1) {
			t.Errorf("%s: Catalog().Nodes = %d nodes, %v", k.name, len(got), err)
		}
		if got, _, err := catalog.Services(k.opts); err != nil || len(got) != min(k.want, 1) {
			t.Errorf("%s: Catalog().Services = %v, %v", k.name, got, err)
		}
	}
}
