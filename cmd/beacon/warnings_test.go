package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWarnSetup checks the warnings logged at start about where beacon
// listens, read from the flags as serve gets them.
func TestWarnSetup(t *testing.T) {
	probe := mdnsProbe{NSSwitch: filepath.Join("testdata", "nsswitch", "plain.conf"), ResolvedStub: filepath.Join(t.TempDir(), "absent")}
	for _, c := range []struct {
		name string
		args []string
		want []string // substrings of the warnings; nil means none
	}{
		{"defaults", nil, nil},
		{"loopback IPv6 and names", []string{"-dns-addr", "[::1]:53", "-http-addr", "localhost:8500"}, nil},
		{"DNS on every interface", []string{"-dns-addr", ":53"}, []string{"DNS listens beyond loopback", "no rate limit", "-dns-rate-limit", `addr=:53`}},
		{"DNS on a LAN address", []string{"-dns-addr", "10.0.0.1:53"}, []string{"DNS listens beyond loopback", "-dns-rate-limit"}},
		{"DNS beyond loopback, rate limited", []string{"-dns-addr", "0.0.0.0:53", "-dns-rate-limit", "200"},
			[]string{"DNS listens beyond loopback", "rate_limit=200"}},
		{"open resolver", []string{"-dns-addr", "0.0.0.0:53", "-dns-rate-limit", "200", "-recursor", "192.0.2.53", "-recursor-allow", "0.0.0.0/0"},
			[]string{"DNS listens beyond loopback", "open resolver"}},
		{"every client but no recursor", []string{"-dns-addr", "0.0.0.0:53", "-dns-rate-limit", "200", "-recursor-allow", "::/0"},
			[]string{"DNS listens beyond loopback"}},
		{"open resolver on loopback only", []string{"-recursor", "192.0.2.53", "-recursor-allow", "0.0.0.0/0"}, nil},
		{"HTTP beyond loopback", []string{"-http-addr", "0.0.0.0:8500"}, []string{"HTTP API listens beyond loopback"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseServeTest(c.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			warnSetup(slog.New(slog.NewTextHandler(&logs, nil)), cfg, probe)
			got := logs.String()
			if c.want == nil && got != "" {
				t.Errorf("unexpected warnings:\n%s", got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("warnings lack %q:\n%s", w, got)
				}
			}
			if strings.Contains(got, "rate_limit=200") && strings.Contains(got, "no rate limit") {
				t.Errorf("a rate-limited server is told it has none:\n%s", got)
			}
			if !slices.Contains(c.want, "open resolver") && strings.Contains(got, "open resolver") {
				t.Errorf("open resolver warning where beacon forwards for nobody outside:\n%s", got)
			}
		})
	}
}
