package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// cli runs the built binary as a client of p, returning what it printed;
// the test fails on an exit code other than want.
func (p *proc) cli(t *testing.T, want int, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	env = append([]string{"BEACON_HTTP_ADDR=" + p.URL}, env...)
	code, stdout, stderr := runBinary(t, env, args...)
	if code != want {
		t.Fatalf("beacon %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout, stderr
}

// eventually polls f until it returns "" or the deadline passes.
func eventually(t *testing.T, limit time.Duration, f func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCLIBinary(t *testing.T) {
	t.Parallel()
	p := startBeacon(t, t.TempDir(), testkit.Options{})

	out, _ := p.cli(t, 0, nil, "register", "-name", "job", "-id", "job-1", "-address", "10.0.0.8", "-port", "9000",
		"-tag", "batch", "-meta", "owner=ops", "-ttl", "30s")
	if out != "registered job-1 (service job, check service:job-1)\n" {
		t.Fatalf("register printed %q", out)
	}
	out, _ = p.cli(t, 0, nil, "instances", "job")
	if !strings.Contains(out, "job-1") || !strings.Contains(out, "critical") {
		t.Fatalf("a TTL check starts critical; instances printed:\n%s", out)
	}
	out, _ = p.cli(t, 0, nil, "pass", "service:job-1", "-note", "batch done")
	if out != "service:job-1: passing\n" {
		t.Fatalf("pass printed %q", out)
	}
	out, _ = p.cli(t, 0, nil, "services")
	if want := "NAME  HEALTHY  TAGS\njob   1/1      batch\n"; out != want {
		t.Fatalf("services printed\n%s\nwant\n%s", out, want)
	}

	out, _ = p.cli(t, 0, nil, "instances", "job", "-json")
	var rows []instanceRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("instances -json: %v in %s", err, out)
	}
	if len(rows) != 1 {
		t.Fatalf("instances -json: %+v", rows)
	}
	r := rows[0]
	if r.ID != "job-1" || r.Service != "job" || r.Health != "passing" || r.Address != "10.0.0.8" || r.Port != 9000 ||
		!reflect.DeepEqual(r.Tags, []string{"batch"}) || r.Meta["owner"] != "ops" {
		t.Fatalf("instances -json row %+v", r)
	}
	if len(r.Checks) != 1 || r.Checks[0].CheckID != "service:job-1" || r.Checks[0].Output != "batch done" {
		t.Fatalf("instances -json checks %+v", r.Checks)
	}

	out, _ = p.cli(t, 0, nil, "services", "-json")
	var svcs []serviceRow
	if err := json.Unmarshal([]byte(out), &svcs); err != nil || len(svcs) != 1 || svcs[0].Healthy != 1 || svcs[0].Total != 1 {
		t.Fatalf("services -json: %v %s", err, out)
	}

	p.cli(t, 0, nil, "warn", "service:job-1")
	out, _ = p.cli(t, 0, nil, "instances", "job")
	if !strings.Contains(out, "warning") {
		t.Fatalf("after warn, instances printed:\n%s", out)
	}
	p.cli(t, 0, nil, "maint", "job-1", "-reason", "disk swap")
	out, _ = p.cli(t, 0, nil, "instances", "job")
	if !strings.Contains(out, "critical") || !strings.Contains(out, "disk swap") {
		t.Fatalf("in maintenance, instances printed:\n%s", out)
	}
	p.cli(t, 0, nil, "maint", "job-1", "-disable")
	p.cli(t, 0, nil, "fail", "service:job-1")
	out, _ = p.cli(t, 0, nil, "services")
	if !strings.Contains(out, "0/1") {
		t.Fatalf("after fail, services printed:\n%s", out)
	}

	out, _ = p.cli(t, 0, nil, "deregister", "job-1")
	if out != "deregistered job-1\n" {
		t.Fatalf("deregister printed %q", out)
	}
	if out, errOut := p.cli(t, 1, nil, "instances", "job", "-json"); out != "" || !strings.Contains(errOut, `no service named "job"`) {
		t.Fatalf("after deregister, instances -json printed %q, %q", out, errOut)
	}

	// Errors: one line on stderr, nothing on stdout, exit 1.
	for _, args := range [][]string{
		{"deregister", "job-1"},
		{"pass", "service:nope"},
		{"maint", "nope"},
		{"register", "-name", "bad_name"},
		{"register", "-name", "web", "-address", "300.1.1.1"},
	} {
		stdout, stderr := p.cli(t, 1, nil, args...)
		if stdout != "" || !strings.HasPrefix(stderr, "beacon: ") || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "(HTTP 4") {
			t.Errorf("beacon %s: stdout %q, stderr %q; want one line with the server's 4xx message", strings.Join(args, " "), stdout, stderr)
		}
	}
	p.cli(t, 1, []string{"BEACON_HTTP_ADDR=127.0.0.1:1"}, "services")
}

func TestCLIBinaryHTTPCheck(t *testing.T) {
	t.Parallel()
	p := startBeacon(t, t.TempDir(), testkit.Options{})
	// beacon's own /healthz is a target that answers 200.
	p.cli(t, 0, nil, "register", "-name", "self", "-address", "127.0.0.1", "-http", p.URL+"/healthz", "-interval", "1s")
	eventually(t, 10*time.Second, func() string {
		out, _ := p.cli(t, 0, nil, "instances", "self")
		if !strings.Contains(out, "passing") {
			return "the HTTP check never passed:\n" + out
		}
		return ""
	})
}

func TestCLIBinaryToken(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startBeacon(t, t.TempDir(), testkit.Options{Args: []string{"-token-file", tokenFile}})
	_, stderr := p.cli(t, 1, nil, "services")
	if !strings.Contains(stderr, "(HTTP 403)") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("without a token: %q", stderr)
	}
	p.cli(t, 1, []string{"BEACON_TOKEN=wrong"}, "services")
	p.cli(t, 0, []string{"BEACON_TOKEN=s3cret"}, "register", "-name", "web")
	p.cli(t, 0, []string{"CONSUL_HTTP_TOKEN=s3cret"}, "services")
	p.cli(t, 0, nil, "services", "-token", "s3cret")
}

func TestCLIBinaryTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := writeTestCert(t, dir)
	p := startBeacon(t, t.TempDir(), testkit.Options{Args: []string{"-tls-cert", cert, "-tls-key", key}, CAFile: cert})
	if !strings.Contains(p.Log(), "scheme=https") {
		t.Errorf("start-up log does not say https:\n%s", p.Log())
	}
	p.cli(t, 0, nil, "register", "-name", "web", "-ca-file", cert)
	out, _ := p.cli(t, 0, []string{"BEACON_CACERT=" + cert}, "services")
	if !strings.Contains(out, "web") {
		t.Fatalf("services over https printed:\n%s", out)
	}
	_, stderr := p.cli(t, 1, nil, "services")
	if !strings.Contains(stderr, "certificate") {
		t.Fatalf("without the CA: %q", stderr)
	}
}
