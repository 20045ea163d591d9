package admin

import (
	"net/url"
	"strings"
	"testing"
)

func TestFilterEval(t *testing.T) {
	entry := datum{
		"Node": datum{"Node": "node1", "Meta": map[string]string{}},
		"Service": datum{"ID": "web1", "Service": "web", "Address": "", "Tags": []string{"v1", "primary"},
			"Meta": map[string]string{"version": "1.2", "team.name": "core"}, "Port": 8080,
			"Weights": datum{"Passing": 3, "Warning": 1}, "EnableTagOverride": false},
		"Checks": []datum{
			{"CheckID": "a", "Status": "passing", "Output": "HTTP 200 OK"},
			{"CheckID": "b", "Status": "critical", "Output": ""},
		},
	}
	cases := []struct {
		expr string
		want bool
	}{
		{`Service.Tags contains "v1"`, true},
		{`Service.Tags contains v2`, false},
		{`"primary" in Service.Tags`, true},
		{`"v3" not in Service.Tags`, true},
		{`Service.Tags not contains "v1"`, false},
		{`Service.Meta.version == "1.2"`, true},
		{`Service.Meta["team.name"] == core`, true},
		{`Service.Meta.missing == "x"`, false},
		{`Service.Meta.missing != "x"`, true},
		{`Service.Meta.missing is empty`, true},
		{`Service.Meta.missing is not empty`, false},
		{`Service.Meta.version matches "^1\\."`, true},
		{"Service.Meta.version not matches `^2`", true},
		{`"version" in Service.Meta`, true},
		{`Service.Port == 8080`, true},
		{`Service.Port != 8080`, false},
		{`Service.Weights.Passing == 3`, true},
		{`Service.EnableTagOverride == false`, true},
		{`Checks.Status == "passing"`, true},
		{`Checks.Status == "warning"`, false},
		{`Checks.Status != "passing"`, true}, // any check, as go-bexpr
		{`Checks.Output contains "200"`, true},
		{`Checks is not empty`, true},
		{`Service.ID == "web1" and Service.Port == 8080`, true},
		{`Service.ID == "web2" or Service.Port == 8080`, true},
		{`not Service.ID == "web1"`, false},
		{`not (Service.ID == "web2" or Service.Tags contains "v9") and Service.Service == web`, true},
		{`Service.ID contains "eb"`, true},
		{`Service.Address is empty`, true},
		{`Node.Node == "node1"`, true},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			f, err := compileFilter(c.expr, entrySchema)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if got := f.eval(entry); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestFilterRefused: anything beacon cannot honour exactly is 400,
// naming what is wrong.
func TestFilterRefused(t *testing.T) {
	cases := []struct{ expr, mention string }{
		{`Service.Tags == "v1"`, "Service.Tags is a list"},
		{`Service.Nope == "x"`, `unknown selector "Service.Nope"`},
		{`Nope == "x"`, "valid here: Checks, Node, Service"},
		{`Service == "x"`, "Service is an object"},
		{`Service.Port == eighty`, "is a number"},
		{`Service.Port contains "8"`, "use == or !="},
		{`Service.EnableTagOverride == maybe`, "true or false"},
		{`Service.ID matches "("`, "regular expression"},
		{`Service.ID ==`, "expected a value"},
		{`Service.ID = "x"`, "unexpected"},
		{`Service.ID == "x" Service.Port == 1`, "join comparisons"},
		{`(Service.ID == "x"`, "expected )"},
		{`"x" == Service.ID`, "followed by in"},
		{`Service.ID is full`, "expected empty"},
		{`Service.ID == "unterminated`, "unterminated"},
		{`Service.Meta.a.b == "x"`, "past a map value"},
		{`Service.ID.x == "x"`, "has no fields"},
		{strings.Repeat("a", maxFilterLen+1), "bytes long"},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			_, err := compileFilter(c.expr, entrySchema)
			if err == nil {
				t.Fatalf("compiled; want an error")
			}
			if codeOf(err) != 400 || !strings.Contains(err.Error(), c.mention) || !strings.HasPrefix(err.Error(), "filter: ") {
				t.Errorf("error %q (%d) should be 400 and mention %q", err, codeOf(err), c.mention)
			}
		})
	}
}

// TestFilterEndpoints applies filters through HTTP on every endpoint that
// takes one.
func TestFilterEndpoints(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	get := func(path, filter string) reply {
		return e.must(200, "GET", path+"?filter="+url.QueryEscape(filter), "")
	}
	var entries []serviceEntryJSON
	decode(t, get("/v1/health/service/web", `Service.Tags contains "v2"`), &entries)
	if len(entries) != 1 || entries[0].Service.ID != "web2" {
		t.Errorf("health/service filter: got %+v", entries)
	}
	decode(t, get("/v1/health/service/web", `Checks.Status == "passing"`), &entries)
	if len(entries) != 1 || entries[0].Service.ID != "web2" {
		t.Errorf("health/service Checks filter: got %d entries", len(entries))
	}
	var cat []catalogServiceJSON
	decode(t, get("/v1/catalog/service/web", `ServiceMeta.version == "1.0"`), &cat)
	if len(cat) != 1 || cat[0].ServiceID != "web1" {
		t.Errorf("catalog/service filter: got %+v", cat)
	}
	var names map[string][]string
	decode(t, get("/v1/catalog/services", `ServicePort == 5432`), &names)
	if len(names) != 1 || names["db"] == nil {
		t.Errorf("catalog/services filter: got %v", names)
	}
	decode(t, get("/v1/catalog/services", `ServiceTags contains "v1"`), &names)
	if len(names) != 1 || strings.Join(names["web"], ",") != "primary,v1" {
		t.Errorf("catalog/services tags of matching instances only: got %v", names)
	}
	var svcs map[string]agentServiceJSON
	decode(t, get("/v1/agent/services", `Service == "db" or Meta.version == "1.0"`), &svcs)
	if len(svcs) != 2 || svcs["db1"].ID == "" || svcs["web1"].ID == "" {
		t.Errorf("agent/services filter: got %v", svcs)
	}
	var checks map[string]checkJSON
	decode(t, get("/v1/agent/checks", `ServiceName == "web" and Type == "ttl"`), &checks)
	if len(checks) != 1 {
		t.Errorf("agent/checks filter: got %v", checks)
	}
	var list []checkJSON
	decode(t, get("/v1/health/state/any", `ServiceID == "web2"`), &list)
	if len(list) != 1 {
		t.Errorf("health/state filter: got %v", list)
	}
	decode(t, get("/v1/health/checks/web", `Status == "critical"`), &list)
	if len(list) != 0 {
		t.Errorf("health/checks filter: got %v", list)
	}
	var nodes []nodeJSON
	decode(t, get("/v1/catalog/nodes", `Node == "other"`), &nodes)
	if len(nodes) != 0 {
		t.Errorf("catalog/nodes filter: got %v", nodes)
	}
	decode(t, get("/v1/catalog/nodes", `Node == "node1"`), &nodes)
	if len(nodes) != 1 {
		t.Errorf("catalog/nodes filter: got %v", nodes)
	}
}
