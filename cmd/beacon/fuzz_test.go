package main

import (
	"net"
	"strconv"
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

// FuzzRecursorAddr: an accepted upstream is host:port with a usable port,
// and normalising it again changes nothing.
func FuzzRecursorAddr(f *testing.F) {
	f.Fuzz(func(t *testing.T, r string) {
		hp, err := recursorAddr(r)
		if err != nil {
			return
		}
		_, port, err := net.SplitHostPort(hp)
		if err != nil {
			t.Fatalf("%q gave %q: %v", r, hp, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			t.Fatalf("%q gave port %q", r, port)
		}
		if again, err := recursorAddr(hp); err != nil || again != hp {
			t.Fatalf("%q gave %q, which gives %q, %v", r, hp, again, err)
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
