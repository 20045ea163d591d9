package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/beacon-dns/beacon/store"
)

// Consul's node health check, which every node has. beacon's node is
// alive whenever it answers.
const (
	serfCheckID     = "serfHealth"
	serfCheckName   = "Serf Health Status"
	serfCheckOutput = "Agent alive and reachable"
)

// serfCheck is the node's serfHealth check in Consul's shape.
func (a *API) serfCheck(rd *render) checkJSON {
	return checkJSON{
		Node: rd.node.Node, CheckID: serfCheckID, Name: serfCheckName, Status: string(store.Passing),
		Output: serfCheckOutput, ServiceTags: []string{},
		CreateIndex: a.nodeIndex, ModifyIndex: a.nodeIndex,
	}
}

// isNode reports whether name is this node's, compared as Consul compares
// node names: without regard to case.
func isNode(s *store.Snapshot, name string) bool { return strings.EqualFold(name, s.Node().Name) }

// nodeServicesJSON is Consul's structs.NodeServices, the answer of
// catalog/node/:node.
type nodeServicesJSON struct {
	Node     nodeJSON
	Services map[string]nodeServiceJSON
}

// catalogNode is GET /v1/catalog/node/:node: the node and every instance
// on it, null for another node, as Consul answers. ?filter= applies to
// the services.
func (a *API) catalogNode(w http.ResponseWriter, r *http.Request) error {
	q, f, err := readQuery(r, nodeServiceSchema)
	if err != nil {
		return err
	}
	snap := a.blockIndex(w, r, q, watchSnapshot)
	if !isNode(snap, r.PathValue("node")) || !q.selectsNode() {
		return writeJSON(w, r, nil)
	}
	rd := a.renderer(snap)
	if _, pretty := r.URL.Query()["pretty"]; f == nil && !pretty {
		node, _ := json.Marshal(rd.node)
		fr := frame{head: `{"Node":` + string(node) + `,"Services":{`, tail: "}}\n"}
		return a.nodeServices.get(rd, snap).write(w, fr)
	}
	out := nodeServicesJSON{Node: rd.node, Services: map[string]nodeServiceJSON{}}
	for _, in := range snap.Instances() {
		s := nodeServiceJSON{serviceJSON: rd.service(in)}
		if keep(f, func() datum { return serviceDatum(s.serviceJSON) }) {
			out.Services[in.ID] = s
		}
	}
	return writeJSON(w, r, out)
}

// healthNode is GET /v1/health/node/:node: the node's serfHealth check
// and every check on it; [] for another node.
func (a *API) healthNode(w http.ResponseWriter, r *http.Request) error {
	q, f, err := readQuery(r, checkSchema)
	if err != nil {
		return err
	}
	snap := a.blockIndex(w, r, q, watchSnapshot)
	if !isNode(snap, r.PathValue("node")) || !q.selectsNode() {
		return writeJSON(w, r, []checkJSON{})
	}
	return a.writeChecks(w, r, snap, f, "")
}

// writeChecks answers every check in state ("" for any) that passes the
// filter, the node's serfHealth check first where its state is asked
// for. Unfiltered, the answer is encoded once per change and shared.
func (a *API) writeChecks(w http.ResponseWriter, r *http.Request, snap *store.Snapshot, f node, state store.Status) error {
	rd := a.renderer(snap)
	withSerf := state == "" || state == store.Passing
	if _, pretty := r.URL.Query()["pretty"]; f == nil && !pretty {
		fr := arrayFrame
		if withSerf {
			fr.lead, _ = json.Marshal(a.serfCheck(rd))
		}
		return a.checkLists[state].get(rd, snap).write(w, fr)
	}
	var out []checkJSON
	if serf := a.serfCheck(rd); withSerf && keep(f, func() datum { return checkDatum(serf) }) {
		out = append(out, serf)
	}
	out = append(out, a.checksOf(snap, snap.Instances(), f, state)...)
	return writeJSON(w, r, out)
}

// memberJSON is Consul's api.AgentMember, a Serf member.
type memberJSON struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// Serf's member status "alive", and Consul's LAN and WAN Serf ports.
const (
	memberAlive = 1
	serfLANPort = 8301
	serfWANPort = 8302
)

// member is this node as a Serf member of the LAN pool, or with wan of
// the WAN pool, where a server is named node.datacenter. The tags are
// those `consul members` reads: a server (role consul) of this
// datacenter, its build and protocol.
func (a *API) member(n store.Node, wan bool) memberJSON {
	m := memberJSON{
		Name: n.Name, Addr: n.Address, Port: serfLANPort, Status: memberAlive,
		Tags: map[string]string{
			"dc": a.cfg.Datacenter, "id": n.ID, "role": "consul", "port": "8300", "segment": "",
			"build": consulVersion, "vsn": "2", "vsn_min": "2", "vsn_max": "3",
		},
		ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2,
		DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
	}
	if wan {
		m.Name, m.Port = n.Name+"."+a.cfg.Datacenter, serfWANPort
		delete(m.Tags, "segment")
	}
	return m
}

// agentMembers is GET /v1/agent/members: this node, the one member of
// its pool (?wan=1: the WAN pool), or on etcd every live node. ?segment= naming a segment other than
// the default one, of which beacon has no other, selects nobody.
func (a *API) agentMembers(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	wan, segment := v.Get("wan") != "", v.Get("segment")
	allSegments := segment == "" || segment == "_all"
	if wan && !allSegments {
		return badRequest("segment: cannot be given with wan=true; segments are of the LAN pool")
	}
	f, err := compileFilter(v.Get("filter"), memberSchema)
	if err != nil {
		return err
	}
	out := []memberJSON{}
	for _, n := range a.nodes(a.st.Snapshot()) {
		m := a.member(n, wan)
		if allSegments && keep(f, func() datum { return memberDatum(m) }) {
			out = append(out, m)
		}
	}
	return writeJSON(w, r, out)
}

// Node maintenance. Consul marks the node with one critical check; beacon
// keeps checks per instance, so it puts every instance of the node in
// maintenance, noting that the node's maintenance did it, and takes out
// only those again.
const (
	nodeMaintenancePrefix  = "Node maintenance: "
	defaultNodeMaintenance = "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
	// maintenanceWriters bounds the writes in flight for node
	// maintenance; they share the store's group commits.
	maintenanceWriters = 64
)

// nodeMaintenance is PUT /v1/agent/maintenance?enable=&reason=. Instances
// in maintenance of their own keep it, and keep it after the node's ends;
// instances registered later are not in the node's maintenance.
func (a *API) nodeMaintenance(w http.ResponseWriter, r *http.Request) error {
	enable, err := enableParam(r)
	if err != nil {
		return err
	}
	reason := r.URL.Query().Get("reason")
	if max := store.MaxTextLen - len(nodeMaintenancePrefix); len(reason) > max {
		return badRequest("reason: is %d bytes long; at most %d are allowed", len(reason), max)
	}
	if reason == "" {
		reason = defaultNodeMaintenance
	}
	note := nodeMaintenancePrefix + reason
	var ids []string
	for _, in := range a.st.Snapshot().Instances() {
		var m *store.Check
		for _, c := range in.Checks {
			if c.ID == store.MaintenanceCheckPrefix+in.ID {
				m = c
			}
		}
		ours := m != nil && strings.HasPrefix(m.Notes, nodeMaintenancePrefix)
		if enable && (m == nil || ours && m.Notes != note) || !enable && ours {
			ids = append(ids, in.ID)
		}
	}
	failed, err := forEach(ids, maintenanceWriters, func(id string) error {
		err := a.st.SetMaintenance(id, enable, note)
		if errors.Is(err, store.ErrNotFound) {
			// Deregistered meanwhile: nothing to put in maintenance.
			return nil
		}
		return err
	})
	switch {
	case err == nil:
		return a.writeOK(w)
	case failed == len(ids):
		return storeError(err)
	}
	return errorf(http.StatusInternalServerError, "node maintenance changed %d of %d instances; the write failed for the others: %s",
		len(ids)-failed, len(ids), err)
}

// enableParam reads the ?enable= both maintenance endpoints require.
func enableParam(r *http.Request) (bool, error) {
	v := r.URL.Query()
	if !v.Has("enable") {
		return false, badRequest("enable: missing; use ?enable=true or ?enable=false")
	}
	enable, err := strconv.ParseBool(v.Get("enable"))
	if err != nil {
		return false, badRequest("enable: %s is not a boolean; use true or false", quote(v.Get("enable")))
	}
	return enable, nil
}

// forEach calls do for every id, with at most n calls at once, and
// returns how many failed and the first error. Every call is made even
// if the client goes, as every write is once accepted.
func forEach(ids []string, n int, do func(string) error) (int, error) {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
		first  error
	)
	sem := make(chan struct{}, n)
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := do(id); err != nil {
				mu.Lock()
				failed++
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed, first
}
