package dnsserver

import (
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// valid is a Config that Validate accepts, as beacon serve builds it
// from its flags' defaults.
func valid() Config {
	return Config{
		Addr: DefaultAddr, Domain: DefaultDomain,
		TTL: DefaultTTL, WarningTTL: DefaultWarningTTL, NegativeTTL: DefaultNegativeTTL,
		RateLimit: DefaultRateLimit, RateLimitSlip: DefaultRateLimitSlip,
	}
}

func TestValidateNormalizes(t *testing.T) {
	for _, c := range []struct {
		name  string
		mod   func(*Config)
		check func(Config) any
		want  any
	}{
		{"domain lower-case FQDN", func(c *Config) { c.Domain = "Service.Internal." },
			func(c Config) any { return c.Domain }, "service.internal."},
		{"domain without dot", func(c *Config) { c.Domain = "a.b" },
			func(c Config) any { return c.Domain }, "a.b."},
		{"recursors get ports", func(c *Config) {
			c.Recursors = []string{"192.0.2.1", "192.0.2.1:5353", "::1", "[2001:db8::1]:553", "dns.example", "dns.example:054"}
		}, func(c Config) any { return c.Recursors },
			[]string{"192.0.2.1:53", "192.0.2.1:5353", "[::1]:53", "[2001:db8::1]:553", "dns.example:53", "dns.example:54"}},
		{"unresolvable recursor accepted without a lookup", func(c *Config) { c.Recursors = []string{"no-such-host.invalid"} },
			func(c Config) any { return c.Recursors }, []string{"no-such-host.invalid:53"}},
		{"networks canonical", func(c *Config) {
			c.RecursorAllow = []string{"10.1.2.3/8", "192.0.2.7", "2001:db8::1", "::ffff:172.16.0.0/108", "0.0.0.0/0"}
		}, func(c Config) any { return c.RecursorAllow },
			[]string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::1/128", "172.16.0.0/12", "0.0.0.0/0"}},
		{"nil allow list stays nil", func(c *Config) {}, func(c Config) any { return c.RecursorAllow }, []string(nil)},
		{"empty allow list stays empty", func(c *Config) { c.RecursorAllow = []string{} },
			func(c Config) any { return c.RecursorAllow }, []string{}},
		{"listen on every interface", func(c *Config) { c.Addr = ":53" }, func(c Config) any { return c.Addr }, ":53"},
		{"listen on a host name", func(c *Config) { c.Addr = "localhost:0" }, func(c Config) any { return c.Addr }, "localhost:0"},
		{"rate limit and no slip", func(c *Config) { c.RateLimit, c.RateLimitSlip = 100, 0 },
			func(c Config) any { return []int{c.RateLimit, c.RateLimitSlip} }, []int{100, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := valid()
			c.mod(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := c.check(cfg); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %#v, want %#v", got, c.want)
			}
			// What Validate accepted it accepts again, unchanged.
			again := cfg
			if err := again.Validate(); err != nil || !reflect.DeepEqual(c.check(again), c.check(cfg)) {
				t.Fatalf("second Validate: %v, %#v", err, c.check(again))
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		mod   func(*Config)
		field string
		want  []string // substrings of the message
	}{
		{"no port", func(c *Config) { c.Addr = "8600" }, "Addr", []string{`"8600"`, "host:port"}},
		{"empty address", func(c *Config) { c.Addr = "" }, "Addr", []string{"host:port"}},
		{"port too large", func(c *Config) { c.Addr = "127.0.0.1:99999" }, "Addr", []string{"99999"}},
		{"bad listen host", func(c *Config) { c.Addr = "bad_host!:53" }, "Addr", []string{"bad_host!"}},
		{"root as zone", func(c *Config) { c.Domain = "." }, "Domain", []string{"names no zone"}},
		{"empty zone", func(c *Config) { c.Domain = "" }, "Domain", []string{"names no zone"}},
		{"empty label", func(c *Config) { c.Domain = "a..b" }, "Domain", []string{"empty label"}},
		{"underscore", func(c *Config) { c.Domain = "_svc.local" }, "Domain", []string{"'_'"}},
		{"space", func(c *Config) { c.Domain = "a b.local" }, "Domain", []string{"' '"}},
		{"multi-byte letter named whole", func(c *Config) { c.Domain = "bücher.local" }, "Domain", []string{"'ü'"}},
		{"escape", func(c *Config) { c.Domain = `a\.b.local` }, "Domain", []string{`'\\'`}},
		{"long label", func(c *Config) { c.Domain = strings.Repeat("a", 64) + ".local" }, "Domain", []string{"63"}},
		{"long name", func(c *Config) { c.Domain = strings.Repeat("abcdefg.", 32) + "local" }, "Domain", []string{"253"}},
		{"zero TTL", func(c *Config) { c.TTL = 0 }, "TTL", []string{"less than 1s"}},
		{"negative TTL", func(c *Config) { c.TTL = -time.Second }, "TTL", []string{"less than 1s"}},
		{"fractional warning TTL", func(c *Config) { c.WarningTTL = 1500 * time.Millisecond }, "WarningTTL", []string{"whole"}},
		{"huge negative TTL", func(c *Config) { c.NegativeTTL = 100 * 365 * 24 * time.Hour }, "NegativeTTL", []string{"longer"}},
		{"recursor port 0", func(c *Config) { c.Recursors = []string{"192.0.2.1:0"} }, "Recursors", []string{"port 0"}},
		{"recursor port 00", func(c *Config) { c.Recursors = []string{"192.0.2.1:00"} }, "Recursors", []string{"port 0"}},
		{"recursor port too large", func(c *Config) { c.Recursors = []string{"192.0.2.1:99999"} }, "Recursors", []string{"99999"}},
		{"recursor port not a number", func(c *Config) { c.Recursors = []string{"1.1.1.1:x"} }, "Recursors", []string{"1.1.1.1:x"}},
		{"recursor bad host", func(c *Config) { c.Recursors = []string{"ok.example", "bad host"} }, "Recursors", []string{"bad host"}},
		{"recursor empty", func(c *Config) { c.Recursors = []string{""} }, "Recursors", []string{`""`}},
		{"recursor three colons", func(c *Config) { c.Recursors = []string{"a:b:c"} }, "Recursors", []string{"a:b:c"}},
		{"recursor without host", func(c *Config) { c.Recursors = []string{":53"} }, "Recursors", []string{":53"}},
		{"allow not a network", func(c *Config) { c.RecursorAllow = []string{"10.0.0.0/33"} }, "RecursorAllow", []string{"10.0.0.0/33", "CIDR"}},
		{"allow with zone", func(c *Config) { c.RecursorAllow = []string{"fe80::1%eth0"} }, "RecursorAllow", []string{"fe80::1%eth0"}},
		{"allow a name", func(c *Config) { c.RecursorAllow = []string{"localhost"} }, "RecursorAllow", []string{"localhost"}},
		{"negative rate limit", func(c *Config) { c.RateLimit = -1 }, "RateLimit", []string{"negative"}},
		{"negative slip", func(c *Config) { c.RateLimitSlip = -2 }, "RateLimitSlip", []string{"negative"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := valid()
			c.mod(&cfg)
			before := cfg
			err := cfg.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != c.field {
				t.Fatalf("error %v, want a ConfigError for %s", err, c.field)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, c.field+": ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with %q", msg, c.field+": ")
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if !reflect.DeepEqual(cfg, before) {
				t.Errorf("a refused Config was changed: %+v", cfg)
			}
			// New reports the same field.
			if _, err := New(cfg, fakeSource{}); !zeroFilled(c.name) && (!errors.As(err, &ce) || ce.Field != c.field) {
				t.Errorf("New: %v, want a ConfigError for %s", err, c.field)
			}
		})
	}
}

// zeroFilled names the cases whose zero value New fills with a default.
func zeroFilled(name string) bool {
	return name == "empty address" || name == "empty zone" || name == "zero TTL"
}

func TestDefaultsValid(t *testing.T) {
	cfg := valid()
	cfg.RecursorAllow = DefaultRecursorAllow()
	want := slicesClone(cfg.RecursorAllow)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the defaults fail Validate: %v", err)
	}
	if !reflect.DeepEqual(cfg.RecursorAllow, want) {
		t.Errorf("DefaultRecursorAllow is not canonical: %q became %q", want, cfg.RecursorAllow)
	}
	DefaultRecursorAllow()[0] = "changed"
	if DefaultRecursorAllow()[0] == "changed" {
		t.Error("DefaultRecursorAllow hands out a shared slice")
	}
	// New fills zero fields with the same defaults.
	srv, err := New(Config{}, fakeSource{})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.cfg
	if got.Addr != DefaultAddr || got.Domain != DefaultDomain+"." || got.TTL != DefaultTTL ||
		got.WarningTTL != DefaultWarningTTL || got.NegativeTTL != DefaultNegativeTTL ||
		!reflect.DeepEqual(got.RecursorAllow, DefaultRecursorAllow()) || got.RateLimit != 0 {
		t.Errorf("New(Config{}) filled %+v", got)
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func TestDefaultRecursorAllowCovers(t *testing.T) {
	nets := parseNets(DefaultRecursorAllow())
	for ip, want := range map[string]bool{
		"127.0.0.1": true, "127.255.0.9": true, "::1": true, "10.20.30.40": true, "172.31.255.255": true,
		"192.168.1.1": true, "fd00::7": true, "169.254.1.1": true, "fe80::1": true,
		"172.32.0.1": false, "192.0.2.1": false, "8.8.8.8": false, "2001:db8::1": false, "100.64.0.1": false,
	} {
		f := &forwarder{allow: nets}
		addr := &net.UDPAddr{IP: net.ParseIP(ip), Port: 5353}
		if got := f.allows(addr); got != want {
			t.Errorf("allows(%s) = %v, want %v", ip, got, want)
		}
		// The same client over TCP, and as an IPv4-mapped address on a
		// dual-stack socket, with an IPv6 zone.
		if got := f.allows(&net.TCPAddr{IP: net.ParseIP(ip).To16(), Port: 5353, Zone: "eth0"}); got != want {
			t.Errorf("allows(tcp %s) = %v, want %v", ip, got, want)
		}
	}
}

func TestResolveRecursor(t *testing.T) {
	got, err := resolveRecursor("localhost:5300")
	if err != nil || !got.Addr().IsLoopback() || got.Port() != 5300 {
		t.Errorf("resolveRecursor(localhost:5300) = %v, %v; want a loopback address", got, err)
	}
	if got, err := resolveRecursor("192.0.2.1:53"); err != nil || got != netip.MustParseAddrPort("192.0.2.1:53") {
		t.Errorf("an IP recursor changed: %v, %v", got, err)
	}
	if _, err := resolveRecursor("no-such-host.invalid:53"); err == nil || !strings.Contains(err.Error(), "no-such-host.invalid") {
		t.Errorf("unresolvable recursor: %v, want an error naming it", err)
	}
}

// TestStartResolves: a recursor whose name does not resolve is accepted
// by New, which does no network I/O, and refused by Start.
func TestStartResolves(t *testing.T) {
	srv, err := New(Config{Addr: "127.0.0.1:0", Logger: quiet, Recursors: []string{"no-such-host.invalid"}}, fakeSource{})
	if err != nil {
		t.Fatalf("New looked the recursor up: %v", err)
	}
	if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "no-such-host.invalid") {
		t.Fatalf("Start: %v, want an error naming the recursor", err)
	}
	if srv.UDPAddr() != nil || srv.Serving() == nil {
		t.Errorf("a server that failed to start serves: %v %v", srv.UDPAddr(), srv.Serving())
	}
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
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			t.Fatalf("%q gave port %q", r, port)
		}
		if again, err := recursorAddr(hp); err != nil || again != hp {
			t.Fatalf("%q gave %q, which gives %q, %v", r, hp, again, err)
		}
	})
}
