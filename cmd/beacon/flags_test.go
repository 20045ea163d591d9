package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/dnsserver"
)

// mapEnv is an environment for tests.
func mapEnv(m map[string]string) env { return func(k string) string { return m[k] } }

func parseServeTest(args []string, e map[string]string) (*serveConfig, error) {
	return parseServe(newFlagSet("serve", ""), args, mapEnv(e))
}

func TestServeDefaults(t *testing.T) {
	cfg, err := parseServeTest(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	want := &serveConfig{
		DataDir: "./data", HTTPAddr: "127.0.0.1:8500", Datacenter: "dc1",
		DNS: dnsserver.Config{
			Addr: "127.0.0.1:8600", Domain: "service.local.",
			TTL: 30 * time.Second, WarningTTL: 5 * time.Second, NegativeTTL: 5 * time.Second,
			RateLimit: 0, RateLimitSlip: 2,
		},
		Node: host, Advertise: "127.0.0.1", LogLevel: slog.LevelInfo,
		Store: "bolt", EtcdTimeout: 5 * time.Second, NodeTTL: 10 * time.Second,
		HTTPMaxConnsPerClient: 200, HTTPMaxConns: 4096,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("defaults\n got %+v\nwant %+v", cfg, want)
	}
}

// TestServeDNSDefaults: the DNS flags show and take dnsserver's defaults,
// and every Config field dnsserver may refuse is named by a flag.
func TestServeDNSDefaults(t *testing.T) {
	fs := newFlagSet("serve", "")
	serveFlags(fs, &serveConfig{})
	for flag, want := range map[string]string{
		"dns-addr": dnsserver.DefaultAddr, "domain": dnsserver.DefaultDomain,
		"ttl": dnsserver.DefaultTTL.String(), "warning-ttl": dnsserver.DefaultWarningTTL.String(),
		"negative-ttl":   dnsserver.DefaultNegativeTTL.String(),
		"dns-rate-limit": strconv.Itoa(dnsserver.DefaultRateLimit), "dns-rate-limit-slip": strconv.Itoa(dnsserver.DefaultRateLimitSlip),
	} {
		if f := fs.Lookup(flag); f == nil || f.DefValue != want {
			t.Errorf("-%s default %v, want dnsserver's %q", flag, f, want)
		}
	}
	for field, flag := range dnsFlags {
		if fs.Lookup(flag) == nil {
			t.Errorf("Config.%s maps to -%s, which is no flag", field, flag)
		}
	}
	// Every field with a rule is reached by a flag: each refused value
	// comes back naming the flag, never the Go field.
	for field, args := range map[string][]string{
		"Addr": {"-dns-addr", "x"}, "Domain": {"-domain", "a b"}, "TTL": {"-ttl", "0s"},
		"WarningTTL": {"-warning-ttl", "0s"}, "NegativeTTL": {"-negative-ttl", "0s"}, "Recursors": {"-recursor", "a b"},
		"RecursorAllow": {"-recursor-allow", "x"}, "RateLimit": {"-dns-rate-limit", "-1"}, "RateLimitSlip": {"-dns-rate-limit-slip", "-1"},
	} {
		_, err := parseServeTest(args, nil)
		if err == nil || !strings.HasPrefix(err.Error(), args[0]+": ") || strings.Contains(err.Error(), field+":") {
			t.Errorf("%v: %v, want an error naming %s and not Config.%s", args, err, args[0], field)
		}
	}
}

func TestServeFlagEnvPrecedence(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(*serveConfig) any // returns the value under test
		want  any
	}{
		{"env sets dns addr", nil, map[string]string{"BEACON_DNS_ADDR": "127.0.0.1:1053"},
			func(c *serveConfig) any { return c.DNS.Addr }, "127.0.0.1:1053"},
		{"flag beats env", []string{"-dns-addr", "127.0.0.1:2053"}, map[string]string{"BEACON_DNS_ADDR": "127.0.0.1:1053"},
			func(c *serveConfig) any { return c.DNS.Addr }, "127.0.0.1:2053"},
		{"empty env is unset", nil, map[string]string{"BEACON_DATA_DIR": ""},
			func(c *serveConfig) any { return c.DataDir }, "./data"},
		{"dashes become underscores", nil, map[string]string{"BEACON_WARNING_TTL": "7s", "BEACON_NEGATIVE_TTL": "9s"},
			func(c *serveConfig) any { return []time.Duration{c.DNS.WarningTTL, c.DNS.NegativeTTL} }, []time.Duration{7 * time.Second, 9 * time.Second}},
		{"bool from env", nil, map[string]string{"BEACON_ONLY_PASSING": "true"},
			func(c *serveConfig) any { return c.DNS.OnlyPassing }, true},
		{"recursor list from env", nil, map[string]string{"BEACON_RECURSOR": "1.1.1.1, 9.9.9.9:5353,,::1"},
			func(c *serveConfig) any { return c.DNS.Recursors }, []string{"1.1.1.1:53", "9.9.9.9:5353", "[::1]:53"}},
		{"recursor repeated flag beats env", []string{"-recursor", "8.8.8.8", "-recursor", "[2001:db8::1]:54"}, map[string]string{"BEACON_RECURSOR": "1.1.1.1"},
			func(c *serveConfig) any { return c.DNS.Recursors }, []string{"8.8.8.8:53", "[2001:db8::1]:54"}},
		{"rate limit from env", nil, map[string]string{"BEACON_DNS_RATE_LIMIT": "200", "BEACON_DNS_RATE_LIMIT_SLIP": "0"},
			func(c *serveConfig) any { return []int{c.DNS.RateLimit, c.DNS.RateLimitSlip} }, []int{200, 0}},
		{"recursor-allow replaces the default", []string{"-recursor-allow", "10.1.0.0/16", "-recursor-allow", "2001:db8::1"}, nil,
			func(c *serveConfig) any { return c.DNS.RecursorAllow }, []string{"10.1.0.0/16", "2001:db8::1/128"}},
		{"recursor-allow from env", nil, map[string]string{"BEACON_RECURSOR_ALLOW": "0.0.0.0/0, ::/0"},
			func(c *serveConfig) any { return c.DNS.RecursorAllow }, []string{"0.0.0.0/0", "::/0"}},
		{"recursor hostname", []string{"-recursor", "dns.example"}, nil,
			func(c *serveConfig) any { return c.DNS.Recursors }, []string{"dns.example:53"}},
		{"domain normalised", []string{"-domain", "Service.Internal."}, nil,
			func(c *serveConfig) any { return c.zone() }, "service.internal"},
		{"log level from env", nil, map[string]string{"BEACON_LOG_LEVEL": "DEBUG"},
			func(c *serveConfig) any { return c.LogLevel }, slog.LevelDebug},
		{"token from env", nil, map[string]string{"BEACON_TOKEN": "t0k"},
			func(c *serveConfig) any { return c.Token }, "t0k"},
		{"token file read and trimmed", []string{"-token-file", tokenFile}, nil,
			func(c *serveConfig) any { return c.Token }, "s3cret"},
		{"token file from env", nil, map[string]string{"BEACON_TOKEN_FILE": tokenFile},
			func(c *serveConfig) any { return c.Token }, "s3cret"},
		{"token-file flag beats BEACON_TOKEN", []string{"-token-file", tokenFile}, map[string]string{"BEACON_TOKEN": "other"},
			func(c *serveConfig) any { return c.Token }, "s3cret"},
		{"token flag beats BEACON_TOKEN_FILE", []string{"-token", "flag"}, map[string]string{"BEACON_TOKEN_FILE": "/nonexistent"},
			func(c *serveConfig) any { return c.Token }, "flag"},
		{"node and advertise", []string{"-node", "n1", "-advertise", "10.1.2.3"}, map[string]string{"BEACON_NODE": "n2"},
			func(c *serveConfig) any { return c.Node + " " + c.Advertise }, "n1 10.1.2.3"},
		{"all interfaces", []string{"-http-addr", ":8500"}, nil,
			func(c *serveConfig) any { return c.HTTPAddr }, ":8500"},
		{"one second ttl", []string{"-ttl", "1s"}, nil,
			func(c *serveConfig) any { return c.DNS.TTL }, time.Second},
		{"check pool sized to the checks by default", nil, nil,
			func(c *serveConfig) any { return c.CheckWorkers }, 0},
		{"check workers from env", nil, map[string]string{"BEACON_CHECK_WORKERS": "512"},
			func(c *serveConfig) any { return c.CheckWorkers }, 512},
		{"check targets any by default", nil, nil,
			func(c *serveConfig) any { return c.CheckTargets.String() }, "any"},
		{"check targets from env", nil, map[string]string{"BEACON_CHECK_TARGETS": "10.0.0.0/8, 192.168.1.7"},
			func(c *serveConfig) any { return c.CheckTargets.String() }, "10.0.0.0/8,192.168.1.7/32"},
		{"check targets flag", []string{"-check-targets", "instance"}, map[string]string{"BEACON_CHECK_TARGETS": "10.0.0.0/8"},
			func(c *serveConfig) any { return c.CheckTargets.String() }, "instance"},
		{"check targets instance within networks", []string{"-check-targets", "instance,10.0.0.0/8"}, nil,
			func(c *serveConfig) any { return c.CheckTargets.String() }, "instance,10.0.0.0/8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServeTest(tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.check(cfg); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	twoLines := filepath.Join(dir, "two")
	for p, body := range map[string]string{empty: " \n", twoLines: "a\nb\n"} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the one-line error
	}{
		{"unknown flag", []string{"-nope"}, nil, []string{"-nope"}},
		{"argument", []string{"extra"}, nil, []string{"no arguments", "extra"}},
		{"bad duration", []string{"-ttl", "soon"}, nil, []string{"-ttl"}},
		{"bad duration from env", nil, map[string]string{"BEACON_TTL": "soon"}, []string{"BEACON_TTL", "soon"}},
		{"negative ttl", []string{"-ttl", "-1s"}, nil, []string{"-ttl", "less than 1s"}},
		{"zero ttl", []string{"-ttl", "0s"}, nil, []string{"-ttl", "less than 1s"}},
		{"underscore in domain", []string{"-domain", "_svc.local"}, nil, []string{"-domain", "'_'"}},
		{"fractional ttl", []string{"-warning-ttl", "1500ms"}, nil, []string{"-warning-ttl", "whole"}},
		{"huge ttl from env", nil, map[string]string{"BEACON_NEGATIVE_TTL": "1000000h"}, []string{"BEACON_NEGATIVE_TTL", "longer"}},
		{"dns addr no port", []string{"-dns-addr", "127.0.0.1"}, nil, []string{"-dns-addr", "host:port"}},
		{"dns addr bad port", []string{"-dns-addr", "127.0.0.1:99999"}, nil, []string{"-dns-addr", "99999"}},
		{"http addr from env", nil, map[string]string{"BEACON_HTTP_ADDR": "nonsense"}, []string{"BEACON_HTTP_ADDR", "host:port"}},
		{"http addr bad host", []string{"-http-addr", "bad_host!:80"}, nil, []string{"-http-addr", "bad_host!"}},
		{"empty data dir", []string{"-data-dir", ""}, nil, []string{"-data-dir", "empty"}},
		{"empty domain", []string{"-domain", "."}, nil, []string{"-domain"}},
		{"bad domain", []string{"-domain", "a b.local"}, nil, []string{"-domain", "' '"}},
		{"bad datacenter", []string{"-datacenter", "dc/1"}, nil, []string{"-datacenter", "'/'"}},
		{"bad recursor", []string{"-recursor", "1.1.1.1:x"}, nil, []string{"-recursor", "1.1.1.1:x"}},
		{"bad recursor from env", nil, map[string]string{"BEACON_RECURSOR": "ok.example,bad host"}, []string{"BEACON_RECURSOR", "bad host"}},
		{"negative rate limit", []string{"-dns-rate-limit", "-5"}, nil, []string{"-dns-rate-limit", "-5", "negative"}},
		{"bad slip from env", nil, map[string]string{"BEACON_DNS_RATE_LIMIT_SLIP": "two"}, []string{"BEACON_DNS_RATE_LIMIT_SLIP", "two"}},
		{"bad recursor-allow", []string{"-recursor-allow", "10.0.0.0/40"}, nil, []string{"-recursor-allow", "10.0.0.0/40"}},
		{"bad recursor-allow from env", nil, map[string]string{"BEACON_RECURSOR_ALLOW": "10.0.0.0/8,lan"}, []string{"BEACON_RECURSOR_ALLOW", "lan"}},
		{"recursor port 0", []string{"-recursor", "1.1.1.1:0"}, nil, []string{"-recursor", "port 0"}},
		{"bad node", []string{"-node", "a b"}, nil, []string{"-node"}},
		{"bad advertise", []string{"-advertise", "300.1.1.1"}, nil, []string{"-advertise", "300.1.1.1"}},
		{"bad log level", []string{"-log-level", "loud"}, nil, []string{"-log-level", "loud", "debug, info, warn or error"}},
		{"token and token file", []string{"-token", "a", "-token-file", empty}, nil, []string{"-token-file", "not both"}},
		{"token and token file from env", nil, map[string]string{"BEACON_TOKEN": "a", "BEACON_TOKEN_FILE": empty}, []string{"BEACON_TOKEN_FILE", "not both"}},
		{"empty token file", []string{"-token-file", empty}, nil, []string{"-token-file", "empty"}},
		{"token file of two lines", []string{"-token-file", twoLines}, nil, []string{"-token-file", "more than one line"}},
		{"unreadable token file", []string{"-token-file", filepath.Join(dir, "absent")}, nil, []string{"-token-file", "absent"}},
		{"cert without key", []string{"-tls-cert", "c.pem"}, nil, []string{"-tls-cert", "-tls-key"}},
		{"key without cert", nil, map[string]string{"BEACON_TLS_KEY": "k.pem"}, []string{"-tls-key", "both"}},
		{"unreadable pair", []string{"-tls-cert", empty, "-tls-key", empty}, nil, []string{"-tls-cert", empty}},
		{"negative check workers", []string{"-check-workers", "-1"}, nil, []string{"-check-workers", "-1", "0 to size the pool"}},
		{"bad check targets", []string{"-check-targets", "10.0.0.0/33"}, nil, []string{"-check-targets", "10.0.0.0/33", "use any, or instance and CIDRs"}},
		{"bad check targets from env", nil, map[string]string{"BEACON_CHECK_TARGETS": "everything"}, []string{"BEACON_CHECK_TARGETS", "everything"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServeTest(tc.args, tc.env)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestServeTLSLoaded(t *testing.T) {
	cert, key := writeTestCert(t, t.TempDir())
	cfg, err := parseServeTest([]string{"-tls-cert", cert}, map[string]string{"BEACON_TLS_KEY": key})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS == nil || len(cfg.TLS.Certificates) != 1 {
		t.Fatalf("TLS config %+v, want one certificate", cfg.TLS)
	}
}

func TestEnvName(t *testing.T) {
	for flag, want := range map[string]string{"dns-addr": "BEACON_DNS_ADDR", "ttl": "BEACON_TTL", "tls-cert": "BEACON_TLS_CERT", "only-passing": "BEACON_ONLY_PASSING"} {
		if got := envName(flag); got != want {
			t.Errorf("envName(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args      []string
		pos       []string
		reason    string
		disable   bool
		wantError bool
	}{
		{args: []string{"web1"}, pos: []string{"web1"}},
		{args: []string{"web1", "-reason", "upgrade", "-disable"}, pos: []string{"web1"}, reason: "upgrade", disable: true},
		{args: []string{"-disable", "web1", "-reason=x"}, pos: []string{"web1"}, reason: "x", disable: true},
		{args: []string{"a", "b"}, pos: []string{"a", "b"}},
		{args: []string{"--", "-disable"}, pos: []string{"-disable"}},
		{args: []string{"web1", "--", "-x", "y"}, pos: []string{"web1", "-x", "y"}},
		{args: []string{"web1", "-bogus"}, wantError: true},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs := newFlagSet("maint", "")
			reason := fs.String("reason", "", "")
			disable := fs.Bool("disable", false, "")
			pos, err := fs.parseInterspersed(tc.args)
			if (err != nil) != tc.wantError {
				t.Fatalf("err = %v, want error %v", err, tc.wantError)
			}
			if tc.wantError {
				return
			}
			if !reflect.DeepEqual(pos, tc.pos) || *reason != tc.reason || *disable != tc.disable {
				t.Fatalf("got %q reason=%q disable=%v, want %q %q %v", pos, *reason, *disable, tc.pos, tc.reason, tc.disable)
			}
		})
	}
}
