package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// unitPath is the systemd unit README.md gives.
var unitPath = filepath.Join("..", "..", "testdata", "beacon.service")

// unitDirective is a line "Key=Value", or "#Key=Value" for one the
// comments offer to turn on.
var unitDirective = regexp.MustCompile(`^#?([A-Z][A-Za-z]+)=(.*)$`)

// TestSystemdUnit parses testdata/beacon.service: its sections and
// directives are well formed, ExecStart runs `beacon serve` with flags
// that exist and parse, and each BEACON_ variable names a serve flag.
// Where systemd-analyze is installed, systemd itself verifies the unit
// with every optional line turned on.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{"Unit": true, "Service": true, "Install": true}
	var section, execStart string
	var env []string
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			if !sections[section] {
				t.Errorf("line %d: unknown section %q", i+1, section)
			}
		case unitDirective.MatchString(line):
			m := unitDirective.FindStringSubmatch(line)
			if section == "" {
				t.Errorf("line %d: %s outside a section", i+1, m[1])
			}
			switch m[1] {
			case "ExecStart":
				execStart = m[2]
			case "Environment":
				env = append(env, m[2])
			}
		case strings.HasPrefix(line, "#"):
		default:
			t.Errorf("line %d: %q is neither a section, a directive nor a comment", i+1, line)
		}
	}
	args := strings.Fields(execStart)
	if len(args) < 2 || !filepath.IsAbs(args[0]) || filepath.Base(args[0]) != "beacon" || args[1] != "serve" {
		t.Fatalf("ExecStart %q does not run beacon serve by absolute path", execStart)
	}
	fs := newFlagSet("serve", "")
	serveFlags(fs, &serveConfig{})
	if err := fs.Parse(args[2:]); err != nil || fs.NArg() != 0 {
		t.Errorf("ExecStart's flags %q: %v", args[2:], err)
	}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		name := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(k, "BEACON_")), "_", "-")
		if !strings.HasPrefix(k, "BEACON_") || fs.Lookup(name) == nil {
			t.Errorf("Environment %s names no serve flag", k)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		return // not a tool CI installs; the checks above stand
	}
	unit := strings.Replace(string(b), "ExecStart="+args[0], "ExecStart="+testkit.PlainBinary(t), 1)
	unit = regexp.MustCompile(`(?m)^#([A-Z][A-Za-z]+=)`).ReplaceAllString(unit, "$1")
	path := filepath.Join(t.TempDir(), "beacon.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestReadmeSystemdUnit: README.md shows the unit the test above checks.
func TestReadmeSystemdUnit(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```ini\n"+string(unit)+"```\n") {
		t.Errorf("README.md does not show testdata/beacon.service as it is, in an ini block")
	}
}
