package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beacon-dns/beacon/admin"
	"github.com/beacon-dns/beacon/store"
)

// adminServer serves the real API over a real store in t.TempDir().
func adminServer(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir(), NodeName: "n1", Advertise: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.New(admin.Config{}, st).Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// TestCLIAgainstAdmin runs the commands in process against the real
// handler, so that the tables are checked against the shapes the API
// really returns.
func TestCLIAgainstAdmin(t *testing.T) {
	srv := adminServer(t)
	env := map[string]string{"BEACON_HTTP_ADDR": srv.URL}
	steps := []struct {
		args []string
		out  string
	}{
		{[]string{"register", "-name", "web", "-id", "web1", "-address", "10.0.0.5", "-port", "8080", "-tag", "v1"},
			"registered web1 (service web)\n"},
		{[]string{"register", "-name", "web", "-id", "web2", "-port", "8081", "-tag", "v2", "-ttl", "1m"},
			"registered web2 (service web, check service:web2)\n"},
		{[]string{"register", "-name", "db", "-address", "db.example", "-port", "5432"},
			"registered db (service db)\n"},
		{[]string{"services"}, "" +
			"NAME  HEALTHY  TAGS\n" +
			"db    1/1      -\n" +
			"web   1/2      v1,v2\n"},
		{[]string{"pass", "service:web2", "-note", "ok from cron"}, "service:web2: passing\n"},
		{[]string{"instances", "web"}, "" +
			"ID    HEALTH   ADDRESS    PORT  TAGS  CHECKS        OUTPUT\n" +
			"web1  passing  10.0.0.5   8080  v1    -             -\n" +
			"web2  passing  127.0.0.1  8081  v2    service:web2  ok from cron\n"},
		{[]string{"maint", "web1", "-reason", "reboot"}, "web1: maintenance on\n"},
		{[]string{"instances", "web"}, "" +
			"ID    HEALTH    ADDRESS    PORT  TAGS  CHECKS        OUTPUT\n" +
			"web1  critical  10.0.0.5   8080  v1    -             maintenance: reboot\n" +
			"web2  passing   127.0.0.1  8081  v2    service:web2  ok from cron\n"},
		{[]string{"services"}, "" +
			"NAME  HEALTHY  TAGS\n" +
			"db    1/1      -\n" +
			"web   1/2      v1,v2\n"},
		{[]string{"maint", "-disable", "web1"}, "web1: maintenance off\n"},
		{[]string{"deregister", "web2"}, "deregistered web2\n"},
		{[]string{"instances", "db"}, "" +
			"ID  HEALTH   ADDRESS     PORT  TAGS  CHECKS  OUTPUT\n" +
			"db  passing  db.example  5432  -     -       -\n"},
	}
	for _, s := range steps {
		code, stdout, stderr := runCLI(t, env, s.args...)
		if code != 0 {
			t.Fatalf("beacon %s: exit %d: %s", strings.Join(s.args, " "), code, stderr)
		}
		if stdout != s.out {
			t.Fatalf("beacon %s printed\n%s\nwant\n%s", strings.Join(s.args, " "), stdout, s.out)
		}
	}
	code, stdout, stderr := runCLI(t, env, "instances", "web", "-json")
	if code != 0 || !strings.Contains(stdout, `"Health": "passing"`) {
		t.Fatalf("instances -json: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, env, "deregister", "web2")
	if code != 1 || !strings.Contains(stderr, "web2") || !strings.Contains(stderr, "(HTTP 404)") {
		t.Fatalf("deregister of an unknown ID: exit %d, %q", code, stderr)
	}
}
