package admin

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// handlerFunc is a route's handler. It returns an error instead of
// writing one, so every error is answered the same way.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one entry of the API table.
type route struct {
	pattern string // ServeMux pattern, method first
	h       handlerFunc
	// open routes need no token (DESIGN.md: /v1/status/*, /healthz,
	// /metrics).
	open bool
	// cacheable routes are those Consul's agent can answer from its
	// cache; with ?cached they say so in X-Cache.
	cacheable bool
}

// writeTimeout bounds writing a response that does not block; blocking
// queries extend their own deadline (see block).
const writeTimeout = time.Minute

func (a *API) table() []route {
	return []route{
		{pattern: "PUT /v1/agent/service/register", h: a.agentRegister},
		{pattern: "PUT /v1/agent/service/deregister/{id}", h: a.agentDeregister},
		{pattern: "PUT /v1/agent/service/maintenance/{id}", h: a.agentMaintenance},
		{pattern: "GET /v1/agent/services", h: a.agentServices},
		{pattern: "GET /v1/agent/service/{id}", h: a.agentService},
		{pattern: "GET /v1/agent/checks", h: a.agentChecks},
		{pattern: "GET /v1/agent/self", h: a.agentSelf},
		{pattern: "GET /v1/agent/members", h: a.agentMembers},
		{pattern: "PUT /v1/agent/maintenance", h: a.nodeMaintenance},
		{pattern: "GET /v1/agent/health/service/id/{id}", h: a.agentHealthByID},
		{pattern: "GET /v1/agent/health/service/name/{name}", h: a.agentHealthByName},
		{pattern: "GET /v1/agent/monitor", h: a.agentMonitor},
		{pattern: "PUT /v1/agent/check/register", h: a.checkRegister},
		{pattern: "PUT /v1/agent/check/deregister/{id}", h: a.checkDeregister},
		{pattern: "PUT /v1/agent/check/pass/{id}", h: a.checkMark(store.Passing)},
		{pattern: "PUT /v1/agent/check/warn/{id}", h: a.checkMark(store.Warning)},
		{pattern: "PUT /v1/agent/check/fail/{id}", h: a.checkMark(store.Critical)},
		{pattern: "PUT /v1/agent/check/update/{id}", h: a.checkUpdate},
		{pattern: "GET /v1/catalog/services", h: a.catalogServices, cacheable: true},
		{pattern: "GET /v1/catalog/service/{name}", h: a.catalogService, cacheable: true},
		{pattern: "GET /v1/catalog/nodes", h: a.catalogNodes},
		{pattern: "GET /v1/catalog/node/{node}", h: a.catalogNode},
		{pattern: "GET /v1/catalog/datacenters", h: a.catalogDatacenters},
		{pattern: "GET /v1/health/service/{name}", h: a.healthService, cacheable: true},
		{pattern: "GET /v1/health/checks/{name}", h: a.healthChecks},
		{pattern: "GET /v1/health/state/{state}", h: a.healthState},
		{pattern: "GET /v1/health/node/{node}", h: a.healthNode},
		{pattern: "GET /v1/status/leader", h: a.statusLeader, open: true},
		{pattern: "GET /v1/status/peers", h: a.statusPeers, open: true},
		{pattern: "GET /v1/prometheus/targets", h: a.prometheusTargets},
		{pattern: "GET /healthz", h: a.healthz, open: true},
		{pattern: "GET /metrics", h: a.serveMetrics, open: true},
		{pattern: "GET /v1/beacon/explain/{name}", h: a.explainService},
		{pattern: "GET /v1/beacon/history/{id}", h: a.history},
		{pattern: "GET /ui/", h: a.ui},
		{pattern: "GET /ui/services/{name}", h: a.uiService},
		{pattern: "GET /ui/instances/{id}", h: a.uiInstance},
		{pattern: "GET /{$}", h: a.rootRedirect, open: true},
	}
}

// probeMethods are tried to tell 405 (the path exists for another method)
// from 404.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch}

// router dispatches through a ServeMux but answers unknown paths and wrong
// methods itself, as one line of text/plain like every other error.
type router struct {
	a   *API
	mux *http.ServeMux
	// literal maps the paths of patterns without wildcards to their
	// methods. Such a path belongs to them alone: GET
	// /v1/agent/service/register is 405, as in Consul, not a lookup of
	// an instance called "register" by GET /v1/agent/service/{id}.
	literal map[string][]string
}

func (a *API) routes() http.Handler {
	mux := http.NewServeMux()
	literal := map[string][]string{}
	for _, rt := range a.table() {
		mux.Handle(rt.pattern, a.wrap(rt))
		method, path, _ := strings.Cut(rt.pattern, " ")
		if !strings.Contains(path, "{") && !strings.HasSuffix(path, "/") {
			literal[path] = append(literal[path], method)
		}
	}
	return &router{a: a, mux: mux, literal: literal}
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := rt.mux.Handler(r)
	if pattern != "" && !rt.claimedByOther(r, pattern) {
		rt.mux.ServeHTTP(w, r)
		return
	}
	a := rt.a
	start := a.cfg.Now()
	sw := &statusWriter{ResponseWriter: w}
	a.commonHeaders(sw)
	allow, path := rt.allowed(r)
	var err error
	label := "unmatched"
	if area, prefix := unimplementedArea(r.URL.Path); area != "" {
		label = prefix
		err = errorf(http.StatusNotImplemented, "beacon does not implement %s (%s); it serves Consul's service registration, health and discovery endpoints only", area, prefix)
	} else if len(allow) > 0 {
		label = path
		sw.Header().Set("Allow", strings.Join(allow, ", "))
		err = errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s; use %s",
			r.Method, r.URL.Path, strings.Join(allow, " or "))
	} else {
		err = errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}
	writeError(sw, err)
	a.finish(r, sw, label, start, err)
}

// unimplemented maps the paths of Consul's API areas that beacon leaves
// out to what they are. They answer 501, so that a client such as
// `consul kv get` says beacon does not do it, rather than reading a 404
// as "no such key".
var unimplemented = []struct{ prefix, area string }{
	{"/v1/kv", "Consul's KV store"},
	{"/v1/session", "sessions"},
	{"/v1/acl", "ACL management"},
	{"/v1/agent/token", "ACL tokens"},
	{"/v1/connect", "Connect (service mesh)"},
	{"/v1/agent/connect", "Connect (service mesh)"},
	{"/v1/discovery-chain", "Connect (service mesh)"},
	{"/v1/config", "config entries"},
	{"/v1/query", "prepared queries"},
	{"/v1/snapshot", "snapshots"},
	{"/v1/operator", "operator endpoints"},
	{"/v1/event", "events"},
	{"/v1/txn", "transactions"},
	{"/v1/coordinate", "network coordinates"},
	{"/v1/peering", "cluster peering"},
	{"/v1/namespace", "namespaces"},
	{"/v1/namespaces", "namespaces"},
	{"/v1/partition", "admin partitions"},
	{"/v1/partitions", "admin partitions"},
	{"/v1/internal", "Consul's internal UI endpoints"},
	{"/v1/agent/join", "cluster membership changes"},
	{"/v1/agent/leave", "cluster membership changes"},
	{"/v1/agent/force-leave", "cluster membership changes"},
	{"/v1/agent/reload", "configuration reloads"},
}

// unimplementedArea returns the area and prefix a path belongs to, or
// "" when beacon may serve it.
func unimplementedArea(path string) (area, prefix string) {
	for _, u := range unimplemented {
		if path == u.prefix || strings.HasPrefix(path, u.prefix+"/") {
			return u.area, u.prefix
		}
	}
	return "", ""
}

// claimedByOther reports a request that a wildcard pattern matched on a
// path some literal pattern owns for other methods.
func (rt *router) claimedByOther(r *http.Request, pattern string) bool {
	methods, ok := rt.literal[r.URL.Path]
	return ok && strings.Contains(pattern, "{") && !slices.Contains(methods, r.Method) &&
		!(r.Method == http.MethodHead && slices.Contains(methods, http.MethodGet))
}

// allowed returns the methods the request's path takes, and the path of
// the pattern that matched.
func (rt *router) allowed(r *http.Request) ([]string, string) {
	var allow []string
	var path string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := rt.mux.Handler(probe); p != "" && !rt.claimedByOther(probe, p) {
			allow = append(allow, m)
			path = patternPath(p)
		}
	}
	slices.Sort(allow)
	return allow, path
}

// patternPath drops the method from a ServeMux pattern; what is left is
// the route label of beacon_api_requests_total.
func patternPath(p string) string {
	if i := strings.IndexByte(p, ' '); i >= 0 {
		return p[i+1:]
	}
	return p
}

// wrap gives a route the parts every route shares: common headers, a
// write deadline, the token check, the datacenter check, error answers,
// metrics and the request log.
func (a *API) wrap(rt route) http.Handler {
	label := patternPath(rt.pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.cfg.Now()
		sw := &statusWriter{ResponseWriter: w}
		_ = http.NewResponseController(sw).SetWriteDeadline(time.Now().Add(writeTimeout))
		a.commonHeaders(sw)
		if rt.cacheable && r.URL.Query().Has("cached") {
			// beacon answers from its live state: never a cache hit.
			sw.Header().Set("X-Cache", "MISS")
		}
		err := a.admit(r, rt)
		if err == nil {
			err = rt.h(sw, r)
		}
		if err != nil && !sw.wrote {
			writeError(sw, err)
		}
		a.finish(r, sw, label, start, err)
	})
}

// admit applies the checks that come before a route's own work: the
// token, then ?dc= on every API route, status and agent ones included,
// since beacon has a path to no other datacenter.
func (a *API) admit(r *http.Request, rt route) error {
	if !rt.open {
		if err := a.token.check(r); err != nil {
			return err
		}
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		return a.checkDatacenter(r)
	}
	return nil
}

// commonHeaders sets what every answer carries. Blocking reads and writes
// overwrite X-Consul-Index with the index they answer at.
func (a *API) commonHeaders(w http.ResponseWriter) {
	setIndex(w, a.st.Snapshot().Index())
	h := w.Header()
	h.Set("X-Consul-KnownLeader", a.knownLeader())
	h.Set("X-Consul-LastContact", "0")
}

// finish counts and logs one answered request. The query string is left
// out of the log since it may hold ?token=.
func (a *API) finish(r *http.Request, sw *statusWriter, label string, start time.Time, err error) {
	code := sw.code()
	took := a.cfg.Now().Sub(start)
	a.metrics.observe(label, code, took)
	attrs := []any{"method", r.Method, "path", r.URL.Path, "code", code,
		"duration", took, "remote", r.RemoteAddr}
	switch {
	case code >= 500 && code != http.StatusNotImplemented:
		a.log.Error("api request failed", append(attrs, "err", err)...)
	case err != nil:
		a.log.Debug("api request refused", append(attrs, "err", err)...)
	default:
		a.log.Debug("api request", attrs...)
	}
}

// statusWriter records the status code for metrics and logs. Unwrap lets
// http.ResponseController reach the connection beneath.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the status sent, or 499 (nginx's "client closed request") when
// nothing was written, which happens only when the connection failed.
func (w *statusWriter) code() int {
	if !w.wrote {
		return 499
	}
	return w.status
}

var _ http.Handler = (*router)(nil)
