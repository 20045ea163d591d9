package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/beacon-dns/beacon/dnsserver"
	"github.com/beacon-dns/beacon/health"
	"github.com/beacon-dns/beacon/store"
)

// validate checks cfg, normalises what has a canonical form, and loads
// the token file and the TLS key pair, so that every mistake is reported
// before anything starts. src names where each flag came from.
func (cfg *serveConfig) validate(src map[string]string) error {
	checks := []struct {
		flag string
		err  func() error
	}{
		{"data-dir", func() error { return nonEmpty(cfg.DataDir) }},
		{"http-addr", func() error { return store.ValidListenAddr(cfg.HTTPAddr) }},
		{"datacenter", func() error { return checkDatacenter(cfg.Datacenter) }},
		{"node", func() error { return checkNode(cfg.Node) }},
		{"advertise", func() error { return checkAdvertise(cfg.Advertise) }},
		{"token-file", cfg.loadToken},
		{"tls-cert", cfg.loadTLS},
		{"store", cfg.checkStore},
		{"etcd-cacert", cfg.loadEtcdTLS},
		{"check-workers", func() error { return fieldRule(health.Config{Workers: cfg.CheckWorkers}.Validate()) }},
		{"http-max-conns-per-client", func() error { return atLeast(cfg.HTTPMaxConnsPerClient, 0) }},
		{"http-max-conns", func() error { return atLeast(cfg.HTTPMaxConns, 1) }},
	}
	if err := validateDNS(&cfg.DNS, src); err != nil {
		return err
	}
	for _, c := range checks {
		if err := c.err(); err != nil {
			return fmt.Errorf("%s: %w", src[c.flag], err)
		}
	}
	return nil
}

// dnsFlags names the flag of each dnsserver.Config field that a flag sets.
var dnsFlags = map[string]string{
	"Addr":           "dns-addr",
	"Domain":         "domain",
	"TTL":            "ttl",
	"WarningTTL":     "warning-ttl",
	"NegativeTTL":    "negative-ttl",
	"PanicThreshold": "panic-threshold",
	"Recursors":      "recursor",
	"RecursorAllow":  "recursor-allow",
	"RateLimit":      "dns-rate-limit",
	"RateLimitSlip":  "dns-rate-limit-slip",
}

// validateDNS applies dnsserver's own rules to the DNS flags, and names
// the flag or environment variable of a value they refuse.
func validateDNS(c *dnsserver.Config, src map[string]string) error {
	err := c.Validate()
	var ce *dnsserver.ConfigError
	if errors.As(err, &ce) && src[dnsFlags[ce.Field]] != "" {
		return fmt.Errorf("%s: %w", src[dnsFlags[ce.Field]], ce.Err)
	}
	return err
}

// fieldRule is the rule inside a validation error of another package,
// without its field name, which the flag or environment variable
// replaces.
func fieldRule(err error) error {
	var verr *store.ValidationError
	if errors.As(err, &verr) {
		return errors.New(verr.Msg)
	}
	return err
}

func nonEmpty(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func atLeast(n, least int) error {
	if n < least {
		return fmt.Errorf("is %d; it must be at least %d", n, least)
	}
	return nil
}

// checkDatacenter follows Consul: letters, digits, hyphens, underscores.
func checkDatacenter(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%q contains %q; use letters, digits, hyphens and underscores", s, rune(c))
		}
	}
	return nil
}

func checkNode(s string) error {
	if s == "" {
		return errors.New("must not be empty (the host name could not be read; set -node)")
	}
	return fieldRule(store.ValidID("node", s))
}

func checkAdvertise(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if _, err := store.ParseAddress(s); err != nil {
		return fmt.Errorf("%q is neither an IP address nor a hostname", s)
	}
	return nil
}

// loadToken makes -token and -token-file exclusive and reads the file:
// an unreadable or empty one is an error rather than an open API.
func (cfg *serveConfig) loadToken() error {
	if cfg.TokenFile == "" {
		return nil
	}
	if cfg.Token != "" {
		return errors.New("give -token or -token-file, not both")
	}
	b, err := os.ReadFile(cfg.TokenFile)
	if err != nil {
		return fmt.Errorf("cannot read the token: %w", err)
	}
	cfg.Token = strings.TrimSpace(string(b))
	if cfg.Token == "" {
		return fmt.Errorf("%s is empty; it must hold the token", cfg.TokenFile)
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return fmt.Errorf("%s holds more than one line; it must hold only the token", cfg.TokenFile)
	}
	return nil
}

// loadTLS requires -tls-cert and -tls-key together and loads the pair.
func (cfg *serveConfig) loadTLS() error {
	switch {
	case cfg.TLSCert == "" && cfg.TLSKey == "":
		return nil
	case cfg.TLSCert == "" || cfg.TLSKey == "":
		return errors.New("-tls-cert and -tls-key go together; give both or neither")
	}
	pair, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return fmt.Errorf("loading %s and %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	return nil
}
