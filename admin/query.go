package admin

import (
	"cmp"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// query holds the parameters real clients send on reads. Those that
// cannot change an answer on one node (stale, consistent, cached, near,
// sameness-group) are accepted and ignored.
type query struct {
	index   uint64
	wait    time.Duration // 0: default
	hash    string
	tags    []string
	passing bool
	// nodeMeta holds the ?node-meta=key:value filters, which the node's
	// meta must all satisfy.
	nodeMeta map[string]string
	// peer is ?peer=, a cluster peer to read imported services from.
	peer string
	// namespace and partition are ?ns= and ?partition= (Consul
	// Enterprise); beacon has only the default ones.
	namespace, partition string
	filter               string
}

// parseQuery reads and checks the read parameters of r.
func parseQuery(r *http.Request) (*query, error) {
	v := r.URL.Query()
	q := &query{tags: v["tag"], filter: v.Get("filter")}
	if s := v.Get("index"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, badRequest("index: %s is not a valid index; send the X-Consul-Index of an earlier answer", quote(s))
		}
		q.index = n
	}
	if s := v.Get("wait"); s != "" {
		d, err := parseWait(s)
		if err != nil {
			return nil, err
		}
		q.wait = d
	}
	q.hash = v.Get("hash")
	if v.Has("stale") && v.Has("consistent") {
		return nil, badRequest("stale and consistent: cannot specify ?stale with ?consistent, conflicting semantics")
	}
	passing, err := flag(v, "passing")
	if err != nil {
		return nil, err
	}
	q.passing = passing
	for _, pair := range v["node-meta"] {
		if q.nodeMeta == nil {
			q.nodeMeta = map[string]string{}
		}
		k, val, _ := strings.Cut(pair, ":")
		q.nodeMeta[k] = val
	}
	q.peer = v.Get("peer")
	q.namespace = cmp.Or(v.Get("ns"), v.Get("namespace"))
	q.partition = cmp.Or(v.Get("partition"), v.Get("ap"))
	return q, nil
}

// selectsNode reports whether beacon's one node is in the query's scope:
// every ?node-meta= pair is in its meta (as Consul's
// structs.SatisfiesMetaFilters requires), no ?peer= names a cluster peer,
// of which beacon has none, and ?ns= and ?partition= name the default
// ones (or, for ns, all: "*"). Outside that scope every read is empty, as
// Consul Enterprise answers for an empty namespace.
func (q *query) selectsNode() bool {
	if q.peer != "" || !defaultScope(q.namespace, "*") || !defaultScope(q.partition, "") {
		return false
	}
	m := nodeMeta()
	for k, v := range q.nodeMeta {
		if got, ok := m[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// defaultScope reports whether a namespace or partition is the default
// one: unnamed, "default", or the wildcard the parameter allows.
func defaultScope(name, wildcard string) bool {
	return name == "" || name == "default" || (wildcard != "" && name == wildcard)
}

// readQuery parses the read parameters of r and compiles its ?filter=
// against schema, the shape of what the endpoint answers with.
func readQuery(r *http.Request, schema *ftype) (*query, node, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, nil, err
	}
	f, err := compileFilter(q.filter, schema)
	return q, f, err
}

// parseWait reads ?wait: a Go duration such as "30s" or "30000ms" (what
// Consul's clients send), or a bare number of seconds.
func parseWait(s string) (time.Duration, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, badRequest("wait: invalid duration %s; use a form such as \"30s\" or \"5m\"", quote(s))
	}
	return d, nil
}

// flag reads a boolean parameter as Consul does: present and empty means
// true, otherwise it must parse as a boolean.
func flag(v url.Values, name string) (bool, error) {
	if !v.Has(name) {
		return false, nil
	}
	s := v.Get(name)
	if s == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequest("%s: %s is not a boolean; use true or false", name, quote(s))
	}
	return b, nil
}

// checkDatacenter refuses a ?dc= naming another datacenter: beacon is one
// node in one datacenter, so it has no path there. The message starts as
// Consul's does, which its clients and tests look for.
func (a *API) checkDatacenter(r *http.Request) error {
	v := r.URL.Query()
	for _, name := range []string{"dc", "datacenter"} {
		dc := v.Get(name)
		if dc != "" && !strings.EqualFold(dc, a.cfg.Datacenter) {
			return errorf(http.StatusNotFound, "No path to datacenter %s: this beacon serves only %q", quote(dc), a.cfg.Datacenter)
		}
	}
	return nil
}
