package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/beacon-dns/beacon/store"
)

// The agent health endpoints load balancers poll answer with a status
// code by an instance's aggregated status, as Consul's agent_endpoint.go
// agentHealthService does: 200 passing, 429 warning, 503 critical or in
// maintenance, 404 unknown.

// healthMaintenance is the aggregated status of an instance in
// maintenance (Consul's api.HealthMaint).
const healthMaintenance = "maintenance"

// serviceChecksInfoJSON is Consul's api.AgentServiceChecksInfo.
type serviceChecksInfoJSON struct {
	AggregatedStatus string
	Service          *agentServiceJSON
	Checks           []checkJSON
}

// aggregated is the instance's status as Consul's HealthChecks
// AggregatedStatus gives it: maintenance above all, then the worst check.
func aggregated(in *store.Instance) string {
	for _, c := range in.Checks {
		if strings.HasPrefix(c.ID, store.MaintenanceCheckPrefix) {
			return healthMaintenance
		}
	}
	return string(in.Health)
}

// statusCode is the answer's code for an aggregated status.
func statusCode(status string) int {
	switch status {
	case string(store.Passing):
		return http.StatusOK
	case string(store.Warning):
		return http.StatusTooManyRequests
	}
	return http.StatusServiceUnavailable
}

// wantsText reports a request for the status alone, as text: Accept
// text/plain or ?format=text, as Consul's returnTextPlain decides.
func wantsText(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Accept"), "text/plain") {
		return true
	}
	return r.URL.Query().Get("format") == "text"
}

// agentHealthByID is GET /v1/agent/health/service/id/:id.
func (a *API) agentHealthByID(w http.ResponseWriter, r *http.Request) error {
	snap := a.st.Snapshot()
	id := r.PathValue("id")
	in := snap.Instance(id)
	if in == nil {
		notFound := fmt.Sprintf("ServiceId %s not found", id)
		if wantsText(r) {
			return writeStatus(w, http.StatusNotFound, "text/plain; charset=utf-8", []byte(notFound))
		}
		return writeStatusJSON(w, http.StatusNotFound, serviceChecksInfoJSON{AggregatedStatus: string(store.Critical)})
	}
	status := aggregated(in)
	if wantsText(r) {
		return writeStatus(w, statusCode(status), "text/plain; charset=utf-8", []byte(status))
	}
	rd := a.renderer(snap)
	s := rd.agentService(in)
	return writeStatusJSON(w, statusCode(status), serviceChecksInfoJSON{AggregatedStatus: status, Service: &s, Checks: rd.checks(in)})
}

// agentHealthByName is GET /v1/agent/health/service/name/:name: every
// instance of the service, with the code and status of the worst.
func (a *API) agentHealthByName(w http.ResponseWriter, r *http.Request) error {
	snap := a.st.Snapshot()
	name := r.PathValue("name")
	code, status := http.StatusNotFound, fmt.Sprintf("ServiceName %s Not Found", name)
	out := []serviceChecksInfoJSON{}
	rd := a.renderer(snap)
	if svc := snap.Service(strings.ToLower(name)); svc != nil {
		for _, in := range svc.Instances {
			st := aggregated(in)
			s := rd.agentService(in)
			out = append(out, serviceChecksInfoJSON{AggregatedStatus: st, Service: &s, Checks: rd.checks(in)})
			// The worst wins: 200 < 429 < 503, and anything beats 404.
			if c := statusCode(st); code == http.StatusNotFound || c > code {
				code, status = c, st
			}
		}
	}
	if wantsText(r) {
		return writeStatus(w, code, "text/plain; charset=utf-8", []byte(status))
	}
	return writeStatusJSON(w, code, out)
}

// writeStatus answers code with body, which is an answer and not an
// error, so it is not one line of the error contract.
func writeStatus(w http.ResponseWriter, code int, contentType string, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(body)
	return nil
}

func writeStatusJSON(w http.ResponseWriter, code int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return errorf(http.StatusInternalServerError, "encoding the answer: %s", err)
	}
	return writeStatus(w, code, "application/json", append(body, '\n'))
}
