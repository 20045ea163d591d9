package admin

import (
	"net/netip"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// The types below are Consul's JSON shapes, field for field as its API
// documents them and its Go client (github.com/hashicorp/consul/api)
// decodes them. Slices and maps are never null: Consul sends [] and {}.

type nodeJSON struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64
	ModifyIndex     uint64
}

type weightsJSON struct {
	Passing int
	Warning int
}

// agentServiceJSON is Consul's AgentService: agent/services values,
// agent/service/:id and the Service of health/service entries.
type agentServiceJSON struct {
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	Weights           weightsJSON
	EnableTagOverride bool
	CreateIndex       uint64
	ModifyIndex       uint64
	ContentHash       string `json:",omitempty"`
	Datacenter        string
}

// catalogServiceJSON is Consul's CatalogService (catalog/service/:name).
type catalogServiceJSON struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              string
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceWeights           weightsJSON
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceEnableTagOverride bool
	CreateIndex              uint64
	ModifyIndex              uint64
}

// checkJSON is Consul's HealthCheck, which agent/checks also answers with.
type checkJSON struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Interval    string
	Timeout     string
	ExposedPort int
	Definition  definitionJSON
	CreateIndex uint64
	ModifyIndex uint64
}

// definitionJSON is Consul's HealthCheckDefinition; durations are Go
// duration strings ("10s"), as Consul sends them.
type definitionJSON struct {
	HTTP                           string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	TTL                            string              `json:",omitempty"`
	Interval                       string              `json:",omitempty"`
	Timeout                        string              `json:",omitempty"`
	DeregisterCriticalServiceAfter string              `json:",omitempty"`
}

// serviceEntryJSON is one entry of health/service/:name.
type serviceEntryJSON struct {
	Node    nodeJSON
	Service agentServiceJSON
	Checks  []checkJSON
}

// render turns snapshot values into Consul shapes. It holds the node,
// which every shape repeats.
type render struct {
	node nodeJSON
	dc   string
}

func (a *API) renderer(s *store.Snapshot) *render {
	n := s.Node()
	return &render{dc: a.cfg.Datacenter, node: nodeJSON{
		ID: n.ID, Node: n.Name, Address: n.Address, Datacenter: a.cfg.Datacenter,
		TaggedAddresses: taggedAddresses(n.Address), Meta: map[string]string{},
		CreateIndex: a.nodeIndex, ModifyIndex: a.nodeIndex,
	}}
}

// taggedAddresses are the node's lan and wan addresses, as a single-node
// Consul agent reports them.
func taggedAddresses(addr string) map[string]string {
	out := map[string]string{"lan": addr, "wan": addr}
	if a, err := netip.ParseAddr(addr); err == nil {
		fam := "ipv4"
		if a.Unmap().Is6() {
			fam = "ipv6"
		}
		out["lan_"+fam], out["wan_"+fam] = addr, addr
	}
	return out
}

func (r *render) agentService(in *store.Instance) agentServiceJSON {
	return agentServiceJSON{
		ID: in.ID, Service: in.Name, Tags: strs(in.Tags), Meta: meta(in.Meta), Port: in.Port,
		Address: in.Address, Weights: weightsJSON(in.Weights),
		CreateIndex: in.CreateIndex, ModifyIndex: in.ModifyIndex, Datacenter: r.dc,
	}
}

func (r *render) catalogService(in *store.Instance) catalogServiceJSON {
	return catalogServiceJSON{
		ID: r.node.ID, Node: r.node.Node, Address: r.node.Address, Datacenter: r.dc,
		TaggedAddresses: r.node.TaggedAddresses, NodeMeta: r.node.Meta,
		ServiceID: in.ID, ServiceName: in.Name, ServiceTags: strs(in.Tags),
		ServiceAddress: in.Address, ServiceWeights: weightsJSON(in.Weights),
		ServiceMeta: meta(in.Meta), ServicePort: in.Port,
		CreateIndex: in.CreateIndex, ModifyIndex: in.ModifyIndex,
	}
}

func (r *render) check(c *store.Check, in *store.Instance) checkJSON {
	return checkJSON{
		Node: r.node.Node, CheckID: c.ID, Name: c.Name, Status: string(c.Status), Notes: c.Notes,
		Output: c.Output, ServiceID: in.ID, ServiceName: in.Name, ServiceTags: strs(in.Tags),
		Type: string(c.Kind), Interval: dur(c.Interval), Timeout: dur(c.Timeout),
		Definition: definitionJSON{
			HTTP: c.HTTP, Header: c.Header, Method: c.Method, Body: c.Body,
			TLSSkipVerify: c.TLSSkipVerify, TCP: c.TCP, TTL: dur(c.TTL),
			Interval: dur(c.Interval), Timeout: dur(c.Timeout),
			DeregisterCriticalServiceAfter: dur(c.DeregisterCriticalServiceAfter),
		},
		CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
	}
}

func (r *render) checks(in *store.Instance) []checkJSON {
	out := make([]checkJSON, 0, len(in.Checks))
	for _, c := range in.Checks {
		out = append(out, r.check(c, in))
	}
	return out
}

func (r *render) entry(in *store.Instance) serviceEntryJSON {
	return serviceEntryJSON{Node: r.node, Service: r.agentService(in), Checks: r.checks(in)}
}

// dur formats a duration as Consul does, "" for none.
func dur(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func meta(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
