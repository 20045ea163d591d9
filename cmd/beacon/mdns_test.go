package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestMDNSWarning(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent")
	stub := filepath.Join("testdata", "nsswitch", "plain.conf") // any file that exists
	tests := []struct {
		name     string
		domain   string
		nsswitch string
		stub     string
		want     []string // substrings of the warning; nil means no warning
	}{
		{"debian nss-mdns", "service.local", "debian-mdns.conf", missing, []string{"nss-mdns", `"mdns4_minimal"`, "-domain"}},
		{"plain mdns", "service.local.", "mdns-full.conf", missing, []string{`"mdns"`}},
		{"nss-resolve", "service.local", "fedora-resolve.conf", missing, []string{"systemd-resolved", `"resolve"`}},
		{"resolved stub", "service.local", "plain.conf", stub, []string{"systemd-resolved", stub}},
		{"both", "x.LOCAL", "debian-mdns.conf", stub, []string{"nss-mdns", "systemd-resolved"}},
		{"zone is local itself", "local", "debian-mdns.conf", missing, []string{"nss-mdns"}},
		{"no mdns", "service.local", "plain.conf", missing, nil},
		{"no hosts line", "service.local", "nohosts.conf", missing, nil},
		{"no nsswitch", "service.local", "", missing, nil},
		{"other zone", "service.internal", "debian-mdns.conf", stub, nil},
		{"local not a label", "service.notlocal", "debian-mdns.conf", stub, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mdnsProbe{NSSwitch: missing, ResolvedStub: tc.stub}
			if tc.nsswitch != "" {
				p.NSSwitch = filepath.Join("testdata", "nsswitch", tc.nsswitch)
			}
			msg, err := p.mdnsWarning(tc.domain)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if msg != "" {
					t.Fatalf("warning %q, want none", msg)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("warning %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("warning spans lines: %q", msg)
			}
		})
	}
}

func TestMDNSWarningUnreadable(t *testing.T) {
	// A directory cannot be read as a file: the probe reports it rather
	// than guessing.
	p := mdnsProbe{NSSwitch: t.TempDir(), ResolvedStub: filepath.Join(t.TempDir(), "absent")}
	if _, err := p.mdnsWarning("service.local"); err == nil {
		t.Fatal("no error reading a directory as nsswitch.conf")
	}
}
