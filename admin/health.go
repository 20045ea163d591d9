package admin

import (
	"net/http"
	"slices"

	"github.com/beacon-dns/beacon/store"
)

// healthService is GET /v1/health/service/:name: [{Node, Service,
// Checks}] in the catalog's order, with ?passing (every check passing, as
// in Consul: warning instances are left out too), ?tag= and ?filter=.
func (a *API) healthService(w http.ResponseWriter, r *http.Request) error {
	q, f, err := readQuery(r, entrySchema)
	if err != nil {
		return err
	}
	snap, svc := a.serviceFor(w, r, q)
	render := func() any {
		ins := pick(svc, q)
		if q.passing {
			ins = slices.DeleteFunc(ins, func(in *store.Instance) bool {
				return slices.ContainsFunc(in.Checks, func(c *store.Check) bool { return c.Status != store.Passing })
			})
		}
		return renderKept(ins, f, a.renderer(snap).entry, entryDatum)
	}
	return a.writeShared(w, r, "health", svc, q, f, render)
}

// healthChecks is GET /v1/health/checks/:name: the checks of a service's
// instances.
func (a *API) healthChecks(w http.ResponseWriter, r *http.Request) error {
	q, f, err := readQuery(r, checkSchema)
	if err != nil {
		return err
	}
	snap, svc := a.serviceFor(w, r, q)
	return writeJSON(w, r, a.checksOf(snap, pick(svc, q), f, ""))
}

// healthStates are the states health/state takes; "any" is every check.
var healthStates = map[string]bool{"any": true, "passing": true, "warning": true, "critical": true}

// healthState is GET /v1/health/state/:state: the checks in a state,
// the node's serfHealth check among them for any and passing, as in
// Consul.
func (a *API) healthState(w http.ResponseWriter, r *http.Request) error {
	state := r.PathValue("state")
	if !healthStates[state] {
		return badRequest("state: %s is not a check state; use any, passing, warning or critical", quote(state))
	}
	q, f, err := readQuery(r, checkSchema)
	if err != nil {
		return err
	}
	snap := a.blockIndex(w, r, q, watchSnapshot)
	if !q.selectsNode() {
		return writeJSON(w, r, []checkJSON{})
	}
	if state == "any" {
		state = ""
	}
	return a.writeChecks(w, r, snap, f, store.Status(state))
}

// checksOf renders the checks of ins that are in state ("" for any) and
// pass the filter.
func (a *API) checksOf(snap *store.Snapshot, ins []*store.Instance, f node, state store.Status) []checkJSON {
	rd := a.renderer(snap)
	out := []checkJSON{}
	for _, in := range ins {
		for _, c := range in.Checks {
			if state != "" && c.Status != state {
				continue
			}
			cj := rd.check(c, in)
			if keep(f, func() datum { return checkDatum(cj) }) {
				out = append(out, cj)
			}
		}
	}
	return out
}
