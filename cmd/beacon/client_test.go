package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestParseHTTPAddr(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"", "http://127.0.0.1:8500", false},
		{"127.0.0.1:8500", "http://127.0.0.1:8500", false},
		{"localhost", "http://localhost:8500", false},
		{"[::1]:9500", "http://[::1]:9500", false},
		{"::1", "http://[::1]:8500", false},
		{"http://10.0.0.1:8500/", "http://10.0.0.1:8500", false},
		{"https://beacon.example:8501", "https://beacon.example:8501", false},
		{"https://proxy.example/beacon/?x=1", "https://proxy.example/beacon", false},
		{"ftp://x", "", true},
		{"http://", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			u, err := parseHTTPAddr(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && u.String() != tc.want {
				t.Fatalf("got %s, want %s", u, tc.want)
			}
		})
	}
}

// recorded is one request the fake API saw.
type recorded struct {
	Method, Path, Query, Token string
	Body                       map[string]any
}

// fakeAPI records requests and answers each with the canned reply for
// its path, or 200 and no body.
type fakeAPI struct {
	mu      sync.Mutex
	reqs    []recorded
	replies map[string]fakeReply
}

type fakeReply struct {
	code int
	body string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Token: r.Header.Get("X-Consul-Token")}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &rec.Body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	f.mu.Unlock()
	if rep, ok := f.replies[r.URL.Path]; ok {
		if rep.code != 0 && rep.code != 200 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(rep.code)
		}
		io.WriteString(w, rep.body)
	}
}

// runCLI runs beacon with args and env against addr.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), streams{stdout: &out, stderr: &errb, getenv: mapEnv(env)}, args)
	return code, out.String(), errb.String()
}

func TestCLIRequests(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want recorded
		out  string
	}{
		{"register minimal", []string{"register", "-name", "web"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/service/register", Body: map[string]any{"Name": "web"}},
			"registered web (service web)\n"},
		{"register full", []string{"register", "-name", "web", "-id", "web1", "-address", "10.0.0.5", "-port", "8080",
			"-tag", "v1", "-tag", "blue", "-meta", "env=prod", "-meta", "k=a=b", "-http", "http://10.0.0.5:8080/health",
			"-interval", "5s", "-timeout", "2s", "-deregister-after", "1m"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/service/register", Body: map[string]any{
				"ID": "web1", "Name": "web", "Address": "10.0.0.5", "Port": 8080.0, "Tags": []any{"v1", "blue"},
				"Meta":  map[string]any{"env": "prod", "k": "a=b"},
				"Check": map[string]any{"HTTP": "http://10.0.0.5:8080/health", "Interval": "5s", "Timeout": "2s", "DeregisterCriticalServiceAfter": "1m0s"}}},
			"registered web1 (service web, check service:web1)\n"},
		{"register tcp default interval", []string{"register", "-name", "db", "-tcp", "10.0.0.6:5432"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/service/register", Body: map[string]any{
				"Name": "db", "Check": map[string]any{"TCP": "10.0.0.6:5432", "Interval": "10s"}}},
			"registered db (service db, check service:db)\n"},
		{"register ttl json", []string{"register", "-json", "-name", "job", "-id", "job-1", "-ttl", "30s"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/service/register", Body: map[string]any{
				"ID": "job-1", "Name": "job", "Check": map[string]any{"TTL": "30s"}}},
			"{\n  \"ID\": \"job-1\",\n  \"Name\": \"job\",\n  \"CheckID\": \"service:job-1\"\n}\n"},
		{"deregister", []string{"deregister", "web1"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/service/deregister/web1"}, "deregistered web1\n"},
		{"maint on with reason after the ID", []string{"maint", "web1", "-reason", "kernel upgrade"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/service/maintenance/web1", Query: "enable=true&reason=kernel+upgrade"},
			"web1: maintenance on\n"},
		{"maint off", []string{"maint", "-disable", "web1"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/service/maintenance/web1", Query: "enable=false"}, "web1: maintenance off\n"},
		{"pass with note", []string{"pass", "service:job-1", "-note", "all good"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/check/pass/service:job-1", Query: "note=all+good"}, "service:job-1: passing\n"},
		{"warn", []string{"warn", "service:job-1"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/check/warn/service:job-1"}, "service:job-1: warning\n"},
		{"fail json", []string{"fail", "-json", "c1"}, nil,
			recorded{Method: "PUT", Path: "/v1/agent/check/fail/c1"}, "{\n  \"CheckID\": \"c1\",\n  \"Status\": \"critical\"\n}\n"},
		{"token flag", []string{"deregister", "-token", "flagtok", "x"}, map[string]string{"BEACON_TOKEN": "envtok"},
			recorded{Method: "PUT", Path: "/v1/agent/service/deregister/x", Token: "flagtok"}, "deregistered x\n"},
		{"token from BEACON_TOKEN", []string{"deregister", "x"}, map[string]string{"BEACON_TOKEN": "envtok", "CONSUL_HTTP_TOKEN": "consul"},
			recorded{Method: "PUT", Path: "/v1/agent/service/deregister/x", Token: "envtok"}, "deregistered x\n"},
		{"token from CONSUL_HTTP_TOKEN", []string{"deregister", "x"}, map[string]string{"CONSUL_HTTP_TOKEN": "consul"},
			recorded{Method: "PUT", Path: "/v1/agent/service/deregister/x", Token: "consul"}, "deregistered x\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{}
			srv := httptest.NewServer(api)
			defer srv.Close()
			args := append(tc.args, "-http-addr", srv.URL)
			code, stdout, stderr := runCLI(t, tc.env, args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if len(api.reqs) != 1 {
				t.Fatalf("%d requests, want 1: %+v", len(api.reqs), api.reqs)
			}
			if !reflect.DeepEqual(api.reqs[0], tc.want) {
				t.Errorf("request\n got %+v\nwant %+v", api.reqs[0], tc.want)
			}
			if stdout != tc.out {
				t.Errorf("stdout %q, want %q", stdout, tc.out)
			}
		})
	}
}

func TestCLIAddressPrecedence(t *testing.T) {
	hit := func() (*httptest.Server, *fakeAPI) {
		api := &fakeAPI{}
		return httptest.NewServer(api), api
	}
	flagSrv, flagAPI := hit()
	beaconSrv, beaconAPI := hit()
	consulSrv, consulAPI := hit()
	defer flagSrv.Close()
	defer beaconSrv.Close()
	defer consulSrv.Close()
	host := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want *fakeAPI
	}{
		{"flag beats both", []string{"-http-addr", flagSrv.URL}, map[string]string{"BEACON_HTTP_ADDR": beaconSrv.URL, "CONSUL_HTTP_ADDR": consulSrv.URL}, flagAPI},
		{"BEACON_HTTP_ADDR beats CONSUL_HTTP_ADDR", nil, map[string]string{"BEACON_HTTP_ADDR": host(beaconSrv), "CONSUL_HTTP_ADDR": consulSrv.URL}, beaconAPI},
		{"CONSUL_HTTP_ADDR", nil, map[string]string{"CONSUL_HTTP_ADDR": host(consulSrv)}, consulAPI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tc.want.reqs)
			code, _, stderr := runCLI(t, tc.env, append([]string{"deregister", "x"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if len(tc.want.reqs) != before+1 {
				t.Fatal("the request went elsewhere")
			}
		})
	}
}

func TestCLIErrors(t *testing.T) {
	api := &fakeAPI{replies: map[string]fakeReply{
		"/v1/agent/service/deregister/web9": {404, "unknown service ID \"web9\"\n"},
		"/v1/agent/service/register":        {400, "Name: \"bad_name\" contains '_'; a service name has only letters, digits and hyphens\n"},
		"/v1/agent/check/pass/c1":           {403, "Permission denied: token missing or invalid\n"},
		"/v1/catalog/services":              {500, ""},
		"/v1/health/service/web":            {200, "not json"},
	}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	closed := httptest.NewServer(api)
	closed.Close()
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"404 names the ID", []string{"deregister", "web9", "-http-addr", srv.URL}, 1, []string{"beacon: deregister web9: unknown service ID \"web9\" (HTTP 404)"}},
		{"400 passes the rule on", []string{"register", "-name", "bad_name", "-http-addr", srv.URL}, 1, []string{"beacon: register bad_name: Name: ", "(HTTP 400)"}},
		{"403", []string{"pass", "c1", "-http-addr", srv.URL}, 1, []string{"Permission denied", "(HTTP 403)"}},
		{"500 without a body", []string{"services", "-http-addr", srv.URL}, 1, []string{"beacon: services: Internal Server Error (HTTP 500)"}},
		{"bad json", []string{"instances", "web", "-http-addr", srv.URL}, 1, []string{"beacon: instances web: reading the answer"}},
		{"unreachable", []string{"services", "-http-addr", closed.URL}, 1, []string{"cannot reach beacon at " + closed.URL, "BEACON_HTTP_ADDR"}},
		{"bad address", []string{"services", "-http-addr", "ftp://x"}, 1, []string{"ftp"}},
		{"missing argument", []string{"deregister"}, 2, []string{"beacon deregister: missing ID"}},
		{"extra argument", []string{"instances", "a", "b"}, 2, []string{"unexpected argument \"b\""}},
		{"no name", []string{"register", "-port", "80"}, 2, []string{"-name is required"}},
		{"two checks", []string{"register", "-name", "a", "-ttl", "5s", "-tcp", "x:1"}, 2, []string{"one check"}},
		{"interval without active check", []string{"register", "-name", "a", "-ttl", "5s", "-interval", "1s"}, 2, []string{"-interval"}},
		{"deregister-after without check", []string{"register", "-name", "a", "-deregister-after", "1m"}, 2, []string{"-deregister-after needs a check"}},
		{"bad meta", []string{"register", "-name", "a", "-meta", "novalue"}, 2, []string{"-meta \"novalue\""}},
		{"unknown flag", []string{"services", "-bogus"}, 2, []string{"-bogus"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{"unknown command \"frobnicate\""}},
		{"no command", nil, 2, []string{"Usage: beacon"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if tc.args != nil && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}
}

func TestCLIHelp(t *testing.T) {
	for _, name := range commandOrder {
		code, stdout, stderr := runCLI(t, nil, name, "-h")
		if code != 0 || !strings.HasPrefix(stdout, "Usage: beacon "+name) || stderr != "" {
			t.Errorf("%s -h: exit %d, stdout %.40q, stderr %q", name, code, stdout, stderr)
		}
	}
}

func TestCLIOverTLS(t *testing.T) {
	api := &fakeAPI{}
	srv := httptest.NewUnstartedServer(api)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake this test fails on purpose
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, ca, "CERTIFICATE", srv.Certificate().Raw)

	if code, _, stderr := runCLI(t, nil, "deregister", "x", "-http-addr", srv.URL); code != 1 || !strings.Contains(stderr, "certificate") {
		t.Fatalf("unknown CA: exit %d, stderr %q; want a certificate error", code, stderr)
	}
	if code, _, stderr := runCLI(t, map[string]string{"BEACON_CACERT": ca}, "deregister", "x", "-http-addr", srv.URL); code != 0 {
		t.Fatalf("with the CA: exit %d, stderr %q", code, stderr)
	}
}
