package main

import (
	"encoding/json"
	"flag"
	"strings"
	"testing"
)

// oneErrorLine checks the CLI's error contract: nothing on stdout, one
// line on stderr that says what, and the exit code.
func oneErrorLine(t *testing.T, args []string, code int, stdout, stderr string, wantCode int, wantIn string) {
	t.Helper()
	if code != wantCode || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, wantIn) {
		t.Errorf("beacon %s: exit %d (want %d), stdout %q, stderr %q (want one line with %q)",
			strings.Join(args, " "), code, wantCode, stdout, stderr, wantIn)
	}
}

// TestCLIInstancesUnknown: the health endpoint answers [] for a name
// nobody registered, and instances must not print an empty table then.
func TestCLIInstancesUnknown(t *testing.T) {
	srv := adminServer(t)
	env := map[string]string{"BEACON_HTTP_ADDR": srv.URL}
	if code, _, stderr := runCLI(t, env, "register", "-name", "web", "-id", "web1", "-address", "10.0.0.5"); code != 0 {
		t.Fatal(stderr)
	}
	for _, args := range [][]string{{"instances", "nope"}, {"instances", "nope", "-json"}, {"instances", "we"}} {
		code, stdout, stderr := runCLI(t, env, args...)
		oneErrorLine(t, args, code, stdout, stderr, exitFail, "no service named")
	}
	// A known name in another case is the same service.
	if code, stdout, stderr := runCLI(t, env, "instances", "WEB"); code != 0 || !strings.Contains(stdout, "web1") {
		t.Errorf("instances WEB: exit %d, %q %q", code, stdout, stderr)
	}
}

// TestCLIInstancesChecksAndMaintenance: instances shows the check IDs
// that pass, warn and fail need, and why an instance is in maintenance.
func TestCLIInstancesChecksAndMaintenance(t *testing.T) {
	srv := adminServer(t)
	env := map[string]string{"BEACON_HTTP_ADDR": srv.URL}
	for _, args := range [][]string{
		{"register", "-name", "job", "-id", "job1", "-address", "10.0.0.8", "-port", "9000", "-ttl", "1m"},
		{"pass", "service:job1"},
		{"maint", "job1", "-reason", "disk swap"},
	} {
		if code, _, stderr := runCLI(t, env, args...); code != 0 {
			t.Fatalf("beacon %s: %s", strings.Join(args, " "), stderr)
		}
	}
	code, stdout, stderr := runCLI(t, env, "instances", "job")
	want := "" +
		"ID    HEALTH    ADDRESS   PORT  TAGS  CHECKS        OUTPUT\n" +
		"job1  critical  10.0.0.8  9000  -     service:job1  maintenance: disk swap\n"
	if code != 0 || stdout != want {
		t.Fatalf("instances job: exit %d %s\n%s\nwant\n%s", code, stderr, stdout, want)
	}
	_, stdout, _ = runCLI(t, env, "instances", "job", "-json")
	var rows []instanceRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("instances -json: %v %s", err, stdout)
	}
	if !rows[0].Maintenance || rows[0].MaintenanceReason != "disk swap" || len(rows[0].Checks) != 2 {
		t.Errorf("instances -json row %+v", rows[0])
	}
}

// TestCLIMaintDisableReason: a reason given with -disable would be
// dropped without a word; it is refused before anything is sent.
func TestCLIMaintDisableReason(t *testing.T) {
	srv := adminServer(t)
	env := map[string]string{"BEACON_HTTP_ADDR": srv.URL}
	for _, args := range [][]string{
		{"register", "-name", "job", "-id", "job1", "-address", "10.0.0.8"},
		{"maint", "job1", "-reason", "disk swap"},
	} {
		if code, _, stderr := runCLI(t, env, args...); code != 0 {
			t.Fatalf("beacon %s: %s", strings.Join(args, " "), stderr)
		}
	}
	for _, args := range [][]string{
		{"maint", "job1", "-disable", "-reason", "done"},
		{"maint", "-reason", "", "-disable", "job1"},
	} {
		code, stdout, stderr := runCLI(t, env, args...)
		oneErrorLine(t, args, code, stdout, stderr, exitUsage, "-reason")
	}
	_, stdout, _ := runCLI(t, env, "instances", "job")
	if !strings.Contains(stdout, "maintenance: disk swap") {
		t.Errorf("a refused command changed the instance:\n%s", stdout)
	}
	if code, stdout, stderr := runCLI(t, env, "maint", "job1", "-disable"); code != 0 || stdout != "job1: maintenance off\n" {
		t.Errorf("maint -disable: exit %d %q %q", code, stdout, stderr)
	}
}

// TestCLIHelpCommand: `beacon help CMD` prints that command's usage and
// every flag it takes, for each command.
func TestCLIHelpCommand(t *testing.T) {
	for _, name := range commandOrder {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, "help", name)
			if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "Usage: beacon "+name) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			// Same text as -h.
			if _, h, _ := runCLI(t, nil, name, "-h"); h != stdout {
				t.Errorf("help %s and %s -h differ:\n%s\n%s", name, name, stdout, h)
			}
		})
	}
	_, stdout, _ := runCLI(t, nil, "help", "serve")
	fs := newFlagSet("serve", "")
	serveFlags(fs, &serveConfig{})
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if !strings.Contains(stdout, "  -"+f.Name+" ") && !strings.Contains(stdout, "  -"+f.Name+"\n") {
			t.Errorf("help serve does not show -%s", f.Name)
		}
	})
	if n < 20 {
		t.Errorf("serve has only %d flags?", n)
	}
	for _, args := range [][]string{{"help", "nope"}, {"help", "serve", "extra"}} {
		code, stdout, stderr := runCLI(t, nil, args...)
		oneErrorLine(t, args, code, stdout, stderr, exitUsage, args[len(args)-1])
	}
	if code, stdout, _ := runCLI(t, nil, "help"); code != 0 || !strings.Contains(stdout, "beacon help <command>") {
		t.Errorf("help: exit %d\n%s", code, stdout)
	}
}
