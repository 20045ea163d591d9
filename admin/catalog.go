package admin

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/beacon-dns/beacon/store"
)

// catalogServices is GET /v1/catalog/services: {name: [tags]}. It blocks
// on the catalog index, which moves only when services or their tags
// change; with ?filter= (which may look at anything) on every change.
func (a *API) catalogServices(w http.ResponseWriter, r *http.Request) error {
	q, f, err := readQuery(r, serviceNodeSchema)
	if err != nil {
		return err
	}
	watch := watchCatalog
	if f != nil {
		watch = watchSnapshot
	}
	snap := a.blockIndex(w, r, q, watch)
	out := map[string][]string{}
	if !q.selectsNode() {
		return writeJSON(w, r, out)
	}
	if _, pretty := r.URL.Query()["pretty"]; f == nil && !pretty {
		body, _ := a.shared.get("catalog/services", snap.CatalogIndex(), func() ([]byte, error) {
			return catalogJSON(snap), nil
		})
		return writeBody(w, body)
	}
	rd := a.renderer(snap)
	for _, svc := range snap.Services() {
		if f == nil {
			out[svc.Name] = strs(svc.Tags)
			continue
		}
		var tags []string
		matched := false
		for _, in := range svc.Instances {
			c := rd.catalogService(in)
			if f.eval(serviceNodeDatum(c)) {
				matched = true
				tags = append(tags, in.Tags...)
			}
		}
		if matched {
			slices.Sort(tags)
			out[svc.Name] = strs(slices.Compact(tags))
		}
	}
	return writeJSON(w, r, out)
}

// serviceFor returns the service the path names, blocking as asked; nil
// when it does not exist or the query selects no node.
func (a *API) serviceFor(w http.ResponseWriter, r *http.Request, q *query) (*store.Snapshot, *store.Service) {
	name := strings.ToLower(r.PathValue("name"))
	snap := a.blockIndex(w, r, q, watchService(name))
	svc := snap.Service(name)
	if svc == nil || !q.selectsNode() {
		return snap, nil
	}
	return snap, svc
}

// pick returns the instances of svc (nil: none) in ID order that carry
// every ?tag= (case-insensitively, as in Consul).
func pick(svc *store.Service, q *query) []*store.Instance {
	if svc == nil {
		return nil
	}
	var out []*store.Instance
	for _, in := range svc.Instances {
		if hasTags(in, q.tags) {
			out = append(out, in)
		}
	}
	return out
}

// renderKept renders each of ins and keeps, in order, those that pass the
// filter f; fields gives the filter what a rendered value holds.
func renderKept[T any](ins []*store.Instance, f node, render func(*store.Instance) T, fields func(T) datum) []T {
	out := make([]T, 0, len(ins))
	for _, in := range ins {
		v := render(in)
		if keep(f, func() datum { return fields(v) }) {
			out = append(out, v)
		}
	}
	return out
}

func hasTags(in *store.Instance, tags []string) bool {
	for _, t := range tags {
		if !in.HasTag(t) {
			return false
		}
	}
	return true
}

// catalogService is GET /v1/catalog/service/:name.
func (a *API) catalogService(w http.ResponseWriter, r *http.Request) error {
	q, f, err := readQuery(r, serviceNodeSchema)
	if err != nil {
		return err
	}
	snap, svc := a.serviceFor(w, r, q)
	render := func() any {
		return renderKept(pick(svc, q), f, a.renderer(snap).catalogService, serviceNodeDatum)
	}
	return a.writeShared(w, r, "catalog", svc, q, f, render)
}

// catalogNodes is GET /v1/catalog/nodes: this one node, or on etcd the
// live nodes. The list is not versioned, so a blocking call waits out its
// wait.
func (a *API) catalogNodes(w http.ResponseWriter, r *http.Request) error {
	q, f, err := readQuery(r, nodeSchema)
	if err != nil {
		return err
	}
	watch := func(*store.Snapshot) (uint64, <-chan struct{}) { return a.nodeIndex, nil }
	snap := a.blockIndex(w, r, q, watch)
	out := []nodeJSON{}
	rd := a.renderer(snap)
	for _, node := range a.nodes(snap) {
		n := rd.node
		n.ID, n.Node, n.Address, n.TaggedAddresses = node.ID, node.Name, node.Address, taggedAddresses(node.Address)
		if q.selectsNode() && keep(f, func() datum { return nodeDatum(n) }) {
			out = append(out, n)
		}
	}
	return writeJSON(w, r, out)
}

// catalogDatacenters is GET /v1/catalog/datacenters.
func (a *API) catalogDatacenters(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, r, []string{a.cfg.Datacenter})
}

// statusLeader is GET /v1/status/leader: this node's server address, as a
// single-node Consul answers.
func (a *API) statusLeader(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, r, a.serverAddr())
}

// statusPeers is GET /v1/status/peers: this node's server address, or on
// etcd every live node's.
func (a *API) statusPeers(w http.ResponseWriter, r *http.Request) error {
	ns := a.members()
	if ns == nil {
		return writeJSON(w, r, []string{a.serverAddr()})
	}
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = net.JoinHostPort(n.Address, "8300")
	}
	return writeJSON(w, r, out)
}

// serverAddr is the node's address with Consul's server RPC port.
func (a *API) serverAddr() string {
	return net.JoinHostPort(a.st.Snapshot().Node().Address, "8300")
}

// catalogJSON encodes the unfiltered catalog answer. It writes the object
// in name order straight from the store's shared list, as encoding a map
// would, without building one.
func catalogJSON(snap *store.Snapshot) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range snap.Catalog() {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(e.Name)
		tags, _ := json.Marshal(strs(e.Tags))
		b.Write(name)
		b.WriteByte(':')
		b.Write(tags)
	}
	b.WriteString("}\n")
	return b.Bytes()
}
