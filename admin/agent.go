package admin

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"github.com/beacon-dns/beacon/store"
)

// agentRegister is PUT /v1/agent/service/register. It answers 200 only
// once the registration is durable on disk.
func (a *API) agentRegister(w http.ResponseWriter, r *http.Request) error {
	v, err := readJSON(w, r)
	if err != nil {
		return err
	}
	d, err := decodeRegistration(v)
	if err != nil {
		return err
	}
	if d.reg.ReplaceExistingChecks, err = flag(r.URL.Query(), "replace-existing-checks"); err != nil {
		return err
	}
	warnIgnored(w, d.unknown, d.unused)
	if _, err := a.st.Register(d.reg); err != nil {
		return storeError(d.rewrite(err))
	}
	return a.writeOK(w)
}

// warnIgnored names the fields beacon ignored in a Warning header (RFC
// 7234 §5.5): unknown ones, so a misspelt field does not pass unseen
// while Consul's clients, which may send fields beacon does not know,
// keep working; and unused ones, which beacon knows but does nothing
// with.
func warnIgnored(w http.ResponseWriter, unknown, unused []string) {
	var parts []string
	if len(unknown) > 0 {
		parts = append(parts, "ignored unknown fields: "+listFields(unknown))
	}
	if len(unused) > 0 {
		parts = append(parts, "ignored fields beacon does not use: "+listFields(unused))
	}
	if len(parts) == 0 {
		return
	}
	msg := oneLine(strings.Join(parts, "; "))
	w.Header().Set("Warning", "299 beacon "+strconv.QuoteToASCII(msg))
}

// listFields joins field names, at most 8 of them.
func listFields(fields []string) string {
	if len(fields) > 8 {
		fields = append(fields[:8:8], "…")
	}
	return strings.Join(fields, ", ")
}

// agentDeregister is PUT /v1/agent/service/deregister/:id.
func (a *API) agentDeregister(w http.ResponseWriter, r *http.Request) error {
	if err := a.st.Deregister(r.PathValue("id")); err != nil {
		return storeError(err)
	}
	return a.writeOK(w)
}

// agentMaintenance is PUT /v1/agent/service/maintenance/:id?enable=&reason=.
func (a *API) agentMaintenance(w http.ResponseWriter, r *http.Request) error {
	enable, err := enableParam(r)
	if err != nil {
		return err
	}
	if err := a.st.SetMaintenance(r.PathValue("id"), enable, r.URL.Query().Get("reason")); err != nil {
		return storeError(err)
	}
	return a.writeOK(w)
}

// agentServices is GET /v1/agent/services: every instance by ID, or on
// etcd those whose checks this node runs. The plain answer on BoltDB is
// encoded once per change and shared (see partedAnswer).
func (a *API) agentServices(w http.ResponseWriter, r *http.Request) error {
	f, err := compileFilter(r.URL.Query().Get("filter"), agentServiceSchema)
	if err != nil {
		return err
	}
	snap := a.st.Snapshot()
	rd := a.renderer(snap)
	ins, shared := a.ownedInstances(snap)
	if _, pretty := r.URL.Query()["pretty"]; f == nil && !pretty && !shared {
		return a.agentServicesAll.get(rd, snap).write(w, objectFrame)
	}
	if !shared {
		ins = snap.Instances()
	}
	out := map[string]agentServiceJSON{}
	for _, in := range ins {
		s := rd.agentService(in)
		if keep(f, func() datum { return agentServiceDatum(s) }) {
			out[in.ID] = s
		}
	}
	return writeJSON(w, r, out)
}

// agentService is GET /v1/agent/service/:id. Like Consul's agent it
// blocks on ?hash= (the ContentHash of an earlier answer) and on nothing
// else: ?index answers at once, as there.
func (a *API) agentService(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	watch := func(s *store.Snapshot) (uint64, <-chan struct{}) {
		if in := s.Instance(id); in != nil {
			if svc := s.Service(in.Name); svc != nil {
				return svc.Index, svc.Changed()
			}
		}
		return s.Index(), s.Changed()
	}
	hashOf := func(s *store.Snapshot) string {
		if in := s.Instance(id); in != nil {
			return a.renderer(s).hashed(in).ContentHash
		}
		return ""
	}
	snap := a.blockHash(w, r, q, watch, hashOf)
	in := snap.Instance(id)
	if in == nil {
		return errorf(http.StatusNotFound, "unknown service ID %s", quote(id))
	}
	s := a.renderer(snap).hashed(in)
	w.Header().Set("X-Consul-ContentHash", s.ContentHash)
	return writeJSON(w, r, s)
}

// hashed renders an instance with its ContentHash: a digest of what the
// answer holds, which changes exactly when the answer does.
func (rd *render) hashed(in *store.Instance) agentServiceJSON {
	s := rd.agentService(in)
	b, _ := json.Marshal(s)
	h := fnv.New64a()
	_, _ = h.Write(b)
	s.ContentHash = strconv.FormatUint(h.Sum64(), 16)
	return s
}

// agentChecks is GET /v1/agent/checks: every check by ID (on etcd, of
// the instances whose checks this node runs), shared as agent/services
// is.
func (a *API) agentChecks(w http.ResponseWriter, r *http.Request) error {
	f, err := compileFilter(r.URL.Query().Get("filter"), checkSchema)
	if err != nil {
		return err
	}
	snap := a.st.Snapshot()
	ins, shared := a.ownedInstances(snap)
	if _, pretty := r.URL.Query()["pretty"]; f == nil && !pretty && !shared {
		return a.agentChecksAll.get(a.renderer(snap), snap).write(w, objectFrame)
	}
	if !shared {
		ins = snap.Instances()
	}
	out := map[string]checkJSON{}
	for _, c := range a.checksOf(snap, ins, f, "") {
		out[c.CheckID] = c
	}
	return writeJSON(w, r, out)
}

// consulVersion is the Consul API level beacon answers as in agent/self;
// clients such as Nomad and Vault gate features on it.
const consulVersion = "1.17.0"

// agentSelf is GET /v1/agent/self. Every top-level value is an object, as
// the Go client decodes it into map[string]map[string]any; Prometheus
// reads Config.Datacenter, the client's NodeName() Config.NodeName, and
// Nomad's fingerprint DebugConfig (Connect and gRPC off) and Member.Tags.
// Meta is the node's meta, as in Consul. Stats has the sections `consul
// info` prints that mean something for beacon, every value a string.
func (a *API) agentSelf(w http.ResponseWriter, r *http.Request) error {
	snap := a.st.Snapshot()
	n := snap.Node()
	return writeJSON(w, r, map[string]any{
		"Config": map[string]any{
			"Datacenter": a.cfg.Datacenter, "PrimaryDatacenter": a.cfg.Datacenter,
			"NodeName": n.Name, "NodeID": n.ID, "Server": true, "Version": consulVersion,
			"Revision": "", "BuildDate": "",
		},
		"Member": a.member(n, false),
		"DebugConfig": map[string]any{
			"Datacenter": a.cfg.Datacenter, "PrimaryDatacenter": a.cfg.Datacenter, "NodeName": n.Name,
			"NodeID": n.ID, "ServerMode": true, "ConnectEnabled": false, "GRPCPort": -1, "GRPCTLSPort": -1,
		},
		"Meta":  nodeMeta(),
		"Stats": a.stats(snap),
	})
}

// stats are agent/self's Stats: Consul's agent, build, consul and runtime
// sections, with what they mean on one beacon node, and beacon's own.
func (a *API) stats(snap *store.Snapshot) map[string]map[string]string {
	kinds := map[store.Kind]int{}
	checks := 0
	for _, in := range snap.Instances() {
		for _, c := range in.Checks {
			kinds[c.Kind]++
			checks++
		}
	}
	itoa := strconv.Itoa
	acl := "disabled"
	if a.token.on {
		acl = "enabled"
	}
	return map[string]map[string]string{
		"agent": {
			"services": itoa(snap.InstanceCount()), "checks": itoa(checks),
			"check_ttls": itoa(kinds[store.KindTTL]), "check_monitors": "0",
		},
		"build": {"version": consulVersion, "revision": "", "prerelease": "", "version_metadata": ""},
		"consul": {
			"server": "true", "leader": "true", "bootstrap": "true", "known_datacenters": "1",
			"leader_addr": a.serverAddr(), "acl": acl,
		},
		"runtime": {
			"os": runtime.GOOS, "arch": runtime.GOARCH, "version": runtime.Version(),
			"cpu_count": itoa(runtime.NumCPU()), "max_procs": itoa(runtime.GOMAXPROCS(0)),
			"goroutines": itoa(runtime.NumGoroutine()),
		},
		"beacon": {
			"version": a.cfg.Version, "instances": itoa(snap.InstanceCount()),
			"services": itoa(len(snap.Catalog())), "index": strconv.FormatUint(snap.Index(), 10),
			"check_http": itoa(kinds[store.KindHTTP]), "check_tcp": itoa(kinds[store.KindTCP]),
			"check_ttl": itoa(kinds[store.KindTTL]), "in_maintenance": itoa(kinds[store.KindMaintenance]),
		},
	}
}

// checkRegister is PUT /v1/agent/check/register: a check on an existing
// instance, named by ServiceID.
func (a *API) checkRegister(w http.ResponseWriter, r *http.Request) error {
	o, err := readObject(w, r)
	if err != nil {
		return err
	}
	spec, unused, err := decodeCheck(o)
	if err != nil {
		return err
	}
	warnIgnored(w, o.unknown(), unused)
	if err := a.st.RegisterCheck(spec); err != nil {
		return storeError(err)
	}
	return a.writeOK(w)
}

// checkDeregister is PUT /v1/agent/check/deregister/:id.
func (a *API) checkDeregister(w http.ResponseWriter, r *http.Request) error {
	if err := a.st.DeregisterCheck(r.PathValue("id")); err != nil {
		return storeError(err)
	}
	return a.writeOK(w)
}

// checkMark is PUT /v1/agent/check/{pass,warn,fail}/:id?note=, a TTL
// report whose output is the note.
func (a *API) checkMark(status store.Status) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := a.st.UpdateTTL(r.PathValue("id"), status, r.URL.Query().Get("note")); err != nil {
			return storeError(err)
		}
		return a.writeOK(w)
	}
}

// checkUpdate is PUT /v1/agent/check/update/:id with {"Status","Output"}.
func (a *API) checkUpdate(w http.ResponseWriter, r *http.Request) error {
	o, err := readObject(w, r)
	if err != nil {
		return err
	}
	status, output := o.str("Status"), o.str("Output")
	if o.err != nil {
		return o.err
	}
	if !store.Status(status).Valid() {
		return badRequest("Status: %s is not a check status; use passing, warning or critical", quote(status))
	}
	warnIgnored(w, o.unknown(), nil)
	if err := a.st.UpdateTTL(r.PathValue("id"), store.Status(status), output); err != nil {
		return storeError(err)
	}
	return a.writeOK(w)
}
