package admin

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	capi "github.com/hashicorp/consul/api"
)

// TestErrorPhrases: beacon's one-line errors carry the phrases Consul's
// clients and tests look for: "invalid duration", "ACL not found" (a
// wrong token; "Permission denied" for none) and "No path to datacenter".
func TestErrorPhrases(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	cases := []struct {
		name, method, path, body string
		code                     int
		prefix                   string
	}{
		{"duration string", "PUT", "/v1/agent/service/register", `{"Name":"d","Check":{"TTL":"10s","DeregisterCriticalServiceAfter":"nope"}}`,
			400, `Check.DeregisterCriticalServiceAfter: invalid duration "nope"; use a form such as "10s"`},
		{"interval", "PUT", "/v1/agent/service/register", `{"Name":"d","Checks":[{"TCP":"127.0.0.1:1","Interval":"soon"}]}`,
			400, `Checks[0].Interval: invalid duration "soon"`},
		{"nanoseconds", "PUT", "/v1/agent/service/register", `{"Name":"d","Check":{"TTL":5}}`, 400, `Check.TTL: invalid duration 5`},
		{"not a string", "PUT", "/v1/agent/service/register", `{"Name":"d","Check":{"TTL":true}}`, 400, `Check.TTL: invalid duration`},
		{"check register", "PUT", "/v1/agent/check/register", `{"Name":"c","ServiceID":"web1","TTL":"1x"}`, 400, `TTL: invalid duration "1x"`},
		{"wait", "GET", "/v1/health/service/web?index=1&wait=soon", "", 400, `wait: invalid duration "soon"`},
		{"dc on a catalog read", "GET", "/v1/catalog/services?dc=elsewhere", "", 404, `No path to datacenter "elsewhere"`},
		{"dc on status", "GET", "/v1/status/leader?dc=elsewhere", "", 404, `No path to datacenter "elsewhere"`},
		{"dc on an agent write", "PUT", "/v1/agent/service/register?dc=elsewhere", `{"Name":"d"}`, 404, `No path to datacenter "elsewhere"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.with(t).refused(c.code, c.method, c.path, c.body)
			if !strings.HasPrefix(r.body, c.prefix) {
				t.Errorf("body %q does not start with %q", r.body, c.prefix)
			}
		})
	}
}

// TestDatacenterEveryRoute: ?dc= naming another datacenter is refused on
// every API route, with the same message, before the route does anything.
func TestDatacenterEveryRoute(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	wild := regexp.MustCompile(`\{[^}]*\}`)
	n := 0
	for _, rt := range e.api.table() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		n++
		path = wild.ReplaceAllString(path, "web1")
		t.Run(rt.pattern, func(t *testing.T) {
			for _, dc := range []string{"?dc=dc2", "?datacenter=dc2"} {
				r := e.with(t).refused(http.StatusNotFound, method, path+dc, `{"Name":"x"}`)
				if !strings.HasPrefix(r.body, `No path to datacenter "dc2"`) {
					t.Errorf("%s: %q", dc, r.body)
				}
			}
			e.with(t).must(http.StatusNotFound, method, path+"?dc=other", `{"Name":"x"}`)
		})
	}
	if n < 20 {
		t.Fatalf("only %d API routes found", n)
	}
	// Our own datacenter, in any case, is ours.
	e.must(http.StatusOK, "GET", "/v1/status/leader?dc=DC1", "")
}

// TestConsulClientErrors drives the refusals through the Consul Go
// client, whose errors carry the answer's text.
func TestConsulClientErrors(t *testing.T) {
	e := newEnv(t, Config{Token: secret})
	good := consulClient(t, e, secret)
	registerWeb(t, good)

	err := good.Agent().ServiceRegister(&capi.AgentServiceRegistration{Name: "d", Check: &capi.AgentServiceCheck{TTL: "10s", DeregisterCriticalServiceAfter: "nope"}})
	if err == nil || !strings.Contains(err.Error(), `invalid duration "nope"`) || !strings.Contains(err.Error(), "DeregisterCriticalServiceAfter") {
		t.Errorf("bad duration: %v", err)
	}
	_, _, err = consulClient(t, e, "wrong").Health().Service("web", "", false, nil)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "ACL not found") {
		t.Errorf("wrong token: %v", err)
	}
	_, err = consulClient(t, e, "").Agent().Services()
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("no token: %v", err)
	}
	other := &capi.QueryOptions{Datacenter: "dc2"}
	if _, _, err := good.Catalog().Services(other); err == nil || !strings.Contains(err.Error(), "No path to datacenter") {
		t.Errorf("Catalog().Services in dc2: %v", err)
	}
	if _, err := good.Status().LeaderWithQueryOptions(other); err == nil || !strings.Contains(err.Error(), "No path to datacenter") {
		t.Errorf("Status().Leader in dc2: %v", err)
	}
	if _, err := good.Status().PeersWithQueryOptions(other); err == nil || !strings.Contains(err.Error(), "No path to datacenter") {
		t.Errorf("Status().Peers in dc2: %v", err)
	}
	if leader, err := good.Status().LeaderWithQueryOptions(&capi.QueryOptions{Datacenter: "dc1"}); err != nil || leader == "" {
		t.Errorf("Status().Leader in dc1: %q, %v", leader, err)
	}
}
