package admin

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

const secret = "s3cr3t-token"

// TestTokenWays: with a token set, each of the four ways of sending it
// works, a wrong or missing one is 403 with one line, and the open routes
// stay open.
func TestTokenWays(t *testing.T) {
	e := newEnv(t, Config{Token: secret})
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	cases := []struct {
		name    string
		query   string
		headers []string
		want    int
	}{
		{"X-Consul-Token", "", []string{"X-Consul-Token", secret}, 200},
		{"Bearer", "", []string{"Authorization", "Bearer " + secret}, 200},
		{"bearer lower case", "", []string{"Authorization", "bearer " + secret}, 200},
		{"bare Authorization", "", []string{"Authorization", secret}, 200},
		{"Basic password", "", []string{"Authorization", basic("prometheus", secret)}, 200},
		{"Basic empty user", "", []string{"Authorization", basic("", secret)}, 200},
		{"query", "?token=" + secret, nil, 200},
		{"missing", "", nil, 403},
		{"wrong header", "", []string{"X-Consul-Token", "nope"}, 403},
		{"wrong bearer", "", []string{"Authorization", "Bearer nope"}, 403},
		{"token as Basic user", "", []string{"Authorization", basic(secret, "")}, 403},
		{"wrong query", "?token=" + secret + "x", nil, 403},
		{"prefix of token", "?token=" + secret[:5], nil, 403},
		{"empty header", "", []string{"X-Consul-Token", ""}, 403},
		{"wrong header, right query", "?token=" + secret, []string{"X-Consul-Token", "stale"}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			r := e.must(c.want, "GET", "/v1/catalog/services"+c.query, "", c.headers...)
			if c.want == 403 {
				errorLine(t, r)
				if strings.Contains(r.body, secret) {
					t.Errorf("403 body leaks the token: %q", r.body)
				}
			}
			e.must(c.want, "PUT", "/v1/agent/service/register"+c.query, `{"Name":"tok","Port":1}`, c.headers...)
		})
	}
	for _, path := range []string{"/v1/status/leader", "/v1/status/peers", "/healthz", "/metrics"} {
		e.must(200, "GET", path, "")
	}
	for _, path := range []string{"/v1/agent/self", "/ui/", "/v1/prometheus/targets", "/v1/health/service/tok", "/v1/agent/services"} {
		e.must(403, "GET", path, "")
	}
	before := e.st.Snapshot().Index()
	e.must(403, "PUT", "/v1/agent/service/deregister/tok", "")
	e.must(403, "PUT", "/v1/agent/service/register", `{"Name":"intruder"}`)
	if e.st.Snapshot().Index() != before {
		t.Errorf("a refused write changed the catalog")
	}
}

// TestTokenOff: without a token everything is open, and a token sent
// anyway is ignored.
func TestTokenOff(t *testing.T) {
	e := newEnv(t, Config{})
	e.must(http.StatusOK, "PUT", "/v1/agent/service/register", `{"Name":"open"}`)
	e.must(http.StatusOK, "GET", "/v1/agent/services", "", "X-Consul-Token", "whatever")
}
