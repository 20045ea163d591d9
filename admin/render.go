package admin

import (
	"net/netip"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// nodeMeta is the meta of beacon's node. Every Consul agent reports its
// network segment ("" for the default one), and clients filter on it with
// ?node-meta=.
func nodeMeta() map[string]string { return map[string]string{"consul-network-segment": ""} }

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
		TaggedAddresses: taggedAddresses(n.Address), Meta: nodeMeta(),
		CreateIndex: a.nodeIndex, ModifyIndex: a.nodeIndex,
	}}
}

// taggedAddresses are the node's lan and wan addresses, as a single-node
// Consul agent reports them.
func taggedAddresses(addr string) map[string]string {
	out := map[string]string{"lan": addr, "wan": addr}
	if fam := family(addr); fam != "" {
		out["lan_"+fam], out["wan_"+fam] = addr, addr
	}
	return out
}

// apiAddress is the instance's Address as API answers show it: as
// registered, so "" when none was given, as in Consul, whose clients then
// take the node's address. DNS answers with the advertise address then.
func apiAddress(in *store.Instance) string {
	if in.NoAddress {
		return ""
	}
	return in.Address
}

// serviceAddresses are the tagged addresses given at registration, plus
// those Consul's agent adds for a service registered with an IP address
// (agent.go addServiceInternal): lan and wan for its family, where not
// given. A hostname, or no address, adds none.
func serviceAddresses(in *store.Instance) map[string]serviceAddressJSON {
	addr := apiAddress(in)
	fam := family(addr)
	if fam == "" && len(in.TaggedAddresses) == 0 {
		return nil
	}
	out := make(map[string]serviceAddressJSON, len(in.TaggedAddresses)+2)
	for k, sa := range in.TaggedAddresses {
		out[k] = serviceAddressJSON(sa)
	}
	if fam != "" {
		for _, k := range []string{"lan_" + fam, "wan_" + fam} {
			if _, given := out[k]; !given {
				out[k] = serviceAddressJSON{Address: addr, Port: in.Port}
			}
		}
	}
	return out
}

// locality is Consul's Locality; nil (left out) when none was given.
func locality(in *store.Instance) *localityJSON {
	if in.Locality == nil {
		return nil
	}
	l := localityJSON(*in.Locality)
	return &l
}

// family is "ipv4" or "ipv6" for an IP literal, "" for a hostname.
func family(addr string) string {
	a, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return ""
	case a.Unmap().Is4():
		return "ipv4"
	}
	return "ipv6"
}

func (r *render) service(in *store.Instance) serviceJSON {
	return serviceJSON{
		ID: in.ID, Service: in.Name, Tags: strs(in.Tags), Meta: meta(in.Meta), Port: in.Port,
		Address: apiAddress(in), TaggedAddresses: serviceAddresses(in), Weights: weightsJSON(in.Weights),
		EnableTagOverride: in.EnableTagOverride, Locality: locality(in),
		CreateIndex: in.CreateIndex, ModifyIndex: in.ModifyIndex,
	}
}

func (r *render) agentService(in *store.Instance) agentServiceJSON {
	return agentServiceJSON{serviceJSON: r.service(in), Datacenter: r.dc}
}

func (r *render) catalogService(in *store.Instance) catalogServiceJSON {
	return catalogServiceJSON{
		ID: r.node.ID, Node: r.node.Node, Address: r.node.Address, Datacenter: r.dc,
		TaggedAddresses: r.node.TaggedAddresses, NodeMeta: r.node.Meta,
		ServiceID: in.ID, ServiceName: in.Name, ServiceTags: strs(in.Tags),
		ServiceAddress: apiAddress(in), ServiceTaggedAddresses: serviceAddresses(in),
		ServiceWeights: weightsJSON(in.Weights), ServiceMeta: meta(in.Meta), ServicePort: in.Port,
		ServiceEnableTagOverride: in.EnableTagOverride, ServiceLocality: locality(in),
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
	return serviceEntryJSON{Node: r.node, Service: nodeServiceJSON{serviceJSON: r.service(in)}, Checks: r.checks(in)}
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
