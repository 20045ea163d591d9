package main

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
)

// Consul-shaped answers, as an agent gives them.
const (
	fakeCatalog = `{"web":["v2","v1"],"db":[],"api":["x"]}`
	fakeWeb     = `[
 {"Node":{"Node":"n1","Address":"127.0.0.1"},
  "Service":{"ID":"web1","Service":"web","Tags":["v1"],"Address":"10.0.0.5","Port":8080,"Meta":{"env":"prod"}},
  "Checks":[{"CheckID":"service:web1","Name":"Service 'web' check","Status":"passing","Output":"HTTP GET http://10.0.0.5:8080/: 200 OK"}]},
 {"Node":{"Node":"n1","Address":"127.0.0.1"},
  "Service":{"ID":"web2","Service":"web","Tags":["v1","v2"],"Address":"","Port":8081},
  "Checks":[{"CheckID":"service:web2","Status":"passing","Output":"ok"},
            {"CheckID":"_service_maintenance:web2","Name":"Service Maintenance Mode","Status":"critical","Notes":"kernel\n\tupgrade","Output":""}]},
 {"Node":{"Node":"n1","Address":"127.0.0.1"},
  "Service":{"ID":"web3","Service":"web","Tags":[],"Address":"10.0.0.7","Port":8082},
  "Checks":[{"CheckID":"service:web3","Status":"warning","Output":"HTTP GET: 429 Too Many Requests"}]}
]`
	fakeDB    = `[{"Node":{"Node":"n1","Address":"127.0.0.1"},"Service":{"ID":"db","Service":"db","Address":"10.0.0.9","Port":5432},"Checks":[]}]`
	fakeEmpty = `[]`
)

func fakeCatalogAPI() *fakeAPI {
	return &fakeAPI{replies: map[string]fakeReply{
		"/v1/catalog/services":   {200, fakeCatalog},
		"/v1/health/service/web": {200, fakeWeb},
		"/v1/health/service/db":  {200, fakeDB},
		"/v1/health/service/api": {200, fakeEmpty},
	}}
}

// TestCLIReads runs the read commands against a fake agent and checks
// the table or the JSON rows each prints.
func TestCLIReads(t *testing.T) {
	srv := httptest.NewServer(fakeCatalogAPI())
	defer srv.Close()
	tests := []struct {
		name string
		args []string
		text string // what is printed, or
		rows any    // what -json printed, decoded
	}{
		{"services table", []string{"services"}, "" +
			"NAME  HEALTHY  TAGS\n" +
			"api   0/0      x\n" +
			"db    1/1      -\n" +
			"web   2/3      v1,v2\n", nil},
		{"services json", []string{"services", "-json"}, "", []serviceRow{
			{Name: "api", Tags: []string{"x"}},
			{Name: "db", Healthy: 1, Total: 1, Passing: 1, Tags: []string{}},
			{Name: "web", Healthy: 2, Total: 3, Passing: 1, Warning: 1, Critical: 1, Tags: []string{"v1", "v2"}},
		}},
		// web2 has no address of its own: the node's stands in, as in Consul.
		{"instances table", []string{"instances", "web"}, "" +
			"ID    HEALTH    ADDRESS    PORT  TAGS   CHECKS        OUTPUT\n" +
			"web1  passing   10.0.0.5   8080  v1     service:web1  HTTP GET http://10.0.0.5:8080/: 200 OK\n" +
			"web2  critical  127.0.0.1  8081  v1,v2  service:web2  maintenance: kernel upgrade\n" +
			"web3  warning   10.0.0.7   8082  -      service:web3  HTTP GET: 429 Too Many Requests\n", nil},
		{"instances json", []string{"instances", "db", "-json"}, "", []instanceRow{
			{ID: "db", Service: "db", Health: "passing", Address: "10.0.0.9", Port: 5432, Checks: []healthCheck{}},
		}},
		{"no instances json", []string{"instances", "api", "-json"}, "[]\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, append(tt.args, "-http-addr", srv.URL)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if tt.rows == nil {
				if stdout != tt.text {
					t.Fatalf("got\n%s\nwant\n%s", stdout, tt.text)
				}
				return
			}
			got := reflect.New(reflect.TypeOf(tt.rows))
			if err := json.Unmarshal([]byte(stdout), got.Interface()); err != nil {
				t.Fatalf("%v in %s", err, stdout)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), tt.rows) {
				t.Fatalf("got %+v\nwant %+v", got.Elem().Interface(), tt.rows)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	for in, want := range map[string]string{"short": "short", "exactly10!": "exactly10!", "this is too long": "this is t…", "ééééééééééé": "ééééééééé…"} {
		if got := truncate(in, 10); got != want {
			t.Errorf("truncate(%q) = %q, want %q", in, got, want)
		}
	}
}
