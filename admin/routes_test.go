package admin

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestEveryRoute calls every route once in a way that succeeds, and checks
// the headers every answer carries.
func TestEveryRoute(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	cases := []struct {
		method, path, body string
		want               int
		contentType        string
	}{
		{"GET", "/v1/agent/services", "", 200, "application/json"},
		{"GET", "/v1/agent/service/web1", "", 200, "application/json"},
		{"GET", "/v1/agent/checks", "", 200, "application/json"},
		{"GET", "/v1/agent/self", "", 200, "application/json"},
		{"GET", "/v1/catalog/services", "", 200, "application/json"},
		{"GET", "/v1/catalog/service/web", "", 200, "application/json"},
		{"GET", "/v1/catalog/nodes", "", 200, "application/json"},
		{"GET", "/v1/catalog/datacenters", "", 200, "application/json"},
		{"GET", "/v1/catalog/node/node1", "", 200, "application/json"},
		{"GET", "/v1/health/node/node1", "", 200, "application/json"},
		{"GET", "/v1/agent/members", "", 200, "application/json"},
		{"GET", "/v1/agent/health/service/id/web1", "", 200, "application/json"},
		{"GET", "/v1/agent/health/service/name/db", "", 200, "application/json"},
		{"GET", "/v1/health/service/web", "", 200, "application/json"},
		{"GET", "/v1/health/checks/web", "", 200, "application/json"},
		{"GET", "/v1/health/state/any", "", 200, "application/json"},
		{"GET", "/v1/status/leader", "", 200, "application/json"},
		{"GET", "/v1/status/peers", "", 200, "application/json"},
		{"GET", "/v1/prometheus/targets", "", 200, "application/json"},
		{"GET", "/healthz", "", 200, "text/plain"},
		{"GET", "/metrics", "", 200, "text/plain"},
		{"GET", "/ui/", "", 200, "text/html"},
		{"PUT", "/v1/agent/check/pass/service:web2?note=ok", "", 200, ""},
		{"PUT", "/v1/agent/check/warn/service:web2", "", 200, ""},
		{"PUT", "/v1/agent/check/fail/service:web2", "", 200, ""},
		{"PUT", "/v1/agent/check/update/service:web2", `{"Status":"passing","Output":"fine"}`, 200, ""},
		{"PUT", "/v1/agent/check/register", `{"ID":"web1-ttl","Name":"ttl","ServiceID":"web1","TTL":"10s"}`, 200, ""},
		{"PUT", "/v1/agent/check/deregister/web1-ttl", "", 200, ""},
		{"PUT", "/v1/agent/service/maintenance/web1?enable=true&reason=patching", "", 200, ""},
		{"PUT", "/v1/agent/service/maintenance/web1?enable=false", "", 200, ""},
		{"PUT", "/v1/agent/maintenance?enable=true&reason=patch", "", 200, ""},
		{"PUT", "/v1/agent/maintenance?enable=false", "", 200, ""},
		{"PUT", "/v1/agent/service/register", `{"Name":"cache","Port":6379}`, 200, ""},
		{"PUT", "/v1/agent/service/deregister/cache", "", 200, ""},
	}
	last := uint64(0)
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := e.with(t).must(c.want, c.method, c.path, c.body)
			if c.contentType != "" && !strings.HasPrefix(r.header.Get("Content-Type"), c.contentType) {
				t.Errorf("Content-Type = %q, want %s", r.header.Get("Content-Type"), c.contentType)
			}
			idx, err := strconv.ParseUint(r.header.Get("X-Consul-Index"), 10, 64)
			if err != nil || idx < 1 {
				t.Errorf("X-Consul-Index = %q, want ≥ 1", r.header.Get("X-Consul-Index"))
			}
			if c.method == "PUT" {
				if idx < last {
					t.Errorf("X-Consul-Index went back from %d to %d after a write", last, idx)
				}
				last = idx
			}
			if r.header.Get("X-Consul-KnownLeader") != "true" || r.header.Get("X-Consul-LastContact") != "0" {
				t.Errorf("leader headers = %q, %q", r.header.Get("X-Consul-KnownLeader"), r.header.Get("X-Consul-LastContact"))
			}
		})
	}
}

// TestErrorCodes covers every error the contract names: 400, 404, 405,
// 413, each a one-line text/plain message.
func TestErrorCodes(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	big := `{"Name":"web","Meta":{"k":"` + strings.Repeat("x", maxBody) + `"}}`
	cases := []struct {
		name, method, path, body string
		want                     int
		contains                 string
	}{
		{"unknown path", "GET", "/v1/nonsense/foo", "", 404, "no such endpoint"},
		{"unimplemented area", "GET", "/v1/kv/foo", "", 501, "does not implement"},
		{"unknown ui page", "GET", "/ui/other", "", 404, "/ui/"},
		{"GET on a PUT route", "GET", "/v1/agent/service/register", "", 405, "use PUT"},
		{"POST on a PUT route", "POST", "/v1/agent/service/deregister/web1", "", 405, "use PUT"},
		{"PUT on a GET route", "PUT", "/v1/catalog/services", "", 405, "use GET"},
		{"DELETE on healthz", "DELETE", "/healthz", "", 405, "use GET"},
		{"deregister unknown", "PUT", "/v1/agent/service/deregister/nope", "", 404, "nope"},
		{"maintenance unknown", "PUT", "/v1/agent/service/maintenance/nope?enable=true", "", 404, "nope"},
		{"maintenance without enable", "PUT", "/v1/agent/service/maintenance/web1", "", 400, "enable"},
		{"maintenance bad enable", "PUT", "/v1/agent/service/maintenance/web1?enable=maybe", "", 400, "enable"},
		{"agent service unknown", "GET", "/v1/agent/service/nope", "", 404, "nope"},
		{"check pass unknown", "PUT", "/v1/agent/check/pass/nope", "", 404, "nope"},
		{"check update unknown", "PUT", "/v1/agent/check/update/nope", `{"Status":"passing"}`, 404, "nope"},
		{"check update bad status", "PUT", "/v1/agent/check/update/service:web2", `{"Status":"fine"}`, 400, "Status"},
		{"check deregister unknown", "PUT", "/v1/agent/check/deregister/nope", "", 404, "nope"},
		{"check register unknown service", "PUT", "/v1/agent/check/register", `{"Name":"c","ServiceID":"nope","TTL":"10s"}`, 404, "nope"},
		{"check register no service", "PUT", "/v1/agent/check/register", `{"Name":"c","TTL":"10s"}`, 400, "ServiceID"},
		{"pass on a non-TTL check", "PUT", "/v1/agent/check/pass/_service_maintenance:web1", "", 404, ""},
		{"health state unknown", "GET", "/v1/health/state/sleepy", "", 400, "state"},
		{"bad index", "GET", "/v1/catalog/services?index=abc", "", 400, "index"},
		{"bad wait", "GET", "/v1/catalog/services?index=1&wait=soon", "", 400, "wait"},
		{"stale and consistent", "GET", "/v1/catalog/services?stale&consistent", "", 400, "stale"},
		{"bad passing", "GET", "/v1/health/service/web?passing=perhaps", "", 400, "passing"},
		{"other datacenter", "GET", "/v1/health/service/web?dc=dc2", "", 404, "dc2"},
		{"other datacenter catalog", "GET", "/v1/catalog/services?dc=eu", "", 404, "eu"},
		{"bad filter", "GET", "/v1/health/service/web?filter=Service.Tags%20%3D%3D", "", 400, "filter"},
		{"unknown filter selector", "GET", "/v1/catalog/service/web?filter=Nope%20%3D%3D%20x", "", 400, "Nope"},
		{"body too large", "PUT", "/v1/agent/service/register", big, 413, "1 MiB"},
		{"bad json", "PUT", "/v1/agent/service/register", `{"Name":`, 400, "JSON"},
		{"invalid name", "PUT", "/v1/agent/service/register", `{"Name":"web_1"}`, 400, "Name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.with(t).refused(c.want, c.method, c.path, c.body)
			if !strings.Contains(r.body, c.contains) {
				t.Errorf("body %q does not mention %q", r.body, c.contains)
			}
			if c.want == http.StatusMethodNotAllowed && r.header.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}

// TestCachedHeader: with ?cached, the reads Consul's agent can serve from
// its cache (catalog/services, catalog/service, health/service) say
// whether they did, in X-Cache (agent/http.go setCacheMeta). beacon
// always answers from its live state, which is a miss: fresh data.
func TestCachedHeader(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	cases := []struct {
		path, want string
	}{
		{"/v1/catalog/services?cached", "MISS"},
		{"/v1/catalog/service/web?cached", "MISS"},
		{"/v1/health/service/web?cached&stale", "MISS"},
		{"/v1/health/service/web", ""},
		{"/v1/health/checks/web?cached", ""},
		{"/v1/catalog/nodes?cached", ""},
	}
	for _, c := range cases {
		if got := e.must(200, "GET", c.path, "").header.Get("X-Cache"); got != c.want {
			t.Errorf("%s: X-Cache = %q, want %q", c.path, got, c.want)
		}
	}
}
