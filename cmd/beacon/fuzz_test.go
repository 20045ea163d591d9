package main

import (
	"strings"
	"testing"
)

// FuzzParseHTTPAddr: whatever people put in -http-addr or the
// environment, the client gets an http(s) URL with a host and no query,
// or an error; never a panic.
func FuzzParseHTTPAddr(f *testing.F) {
	f.Fuzz(func(t *testing.T, addr string) {
		u, err := parseHTTPAddr(addr)
		if err != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("%q gave %q", addr, u)
		}
		again, err := parseHTTPAddr(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("%q gave %q, which parses to %v, %v", addr, u, again, err)
		}
	})
}

// FuzzHostsLine: any nsswitch.conf text yields one line without comments.
func FuzzHostsLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, conf string) {
		line, err := parseHostsLine(strings.NewReader(conf))
		if err != nil {
			return
		}
		if strings.ContainsAny(line, "#\n") {
			t.Fatalf("hosts line %q keeps a comment or a newline", line)
		}
	})
}
