package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

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
		{"dns-addr", func() error { return checkListenAddr(cfg.DNSAddr) }},
		{"http-addr", func() error { return checkListenAddr(cfg.HTTPAddr) }},
		{"domain", func() (err error) { cfg.Domain, err = normaliseDomain(cfg.Domain); return err }},
		{"datacenter", func() error { return checkDatacenter(cfg.Datacenter) }},
		{"ttl", func() error { return checkTTL(cfg.TTL) }},
		{"warning-ttl", func() error { return checkTTL(cfg.WarningTTL) }},
		{"negative-ttl", func() error { return checkTTL(cfg.NegativeTTL) }},
		{"recursor", func() (err error) { cfg.Recursors, err = normaliseRecursors(cfg.Recursors); return err }},
		{"node", func() error { return checkNode(cfg.Node) }},
		{"advertise", func() error { return checkAdvertise(cfg.Advertise) }},
		{"token-file", cfg.loadToken},
		{"tls-cert", cfg.loadTLS},
		{"store", cfg.checkStore},
		{"etcd-cacert", cfg.loadEtcdTLS},
	}
	for _, c := range checks {
		if err := c.err(); err != nil {
			return fmt.Errorf("%s: %w", src[c.flag], err)
		}
	}
	return nil
}

func nonEmpty(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// checkListenAddr accepts host:port where host is empty (all
// interfaces), an IP literal or a hostname, and port is 0–65535.
func checkListenAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8600)", s)
	}
	if err := checkPort(port); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if _, err := store.ParseAddress(host); err != nil || strings.Contains(host, ":") {
		return fmt.Errorf("%q: host %q is neither an IP address nor a hostname", s, host)
	}
	return nil
}

func checkPort(port string) error {
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// normaliseDomain returns the zone in lower case without the trailing dot.
func normaliseDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if d == "" {
		return "", errors.New("must name a zone, such as service.local")
	}
	if len(d) > 253 {
		return "", fmt.Errorf("%q is longer than 253 characters", s)
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("%q has an empty label or one longer than 63 characters", s)
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("%q contains %q; zone labels have only letters, digits and hyphens", s, rune(c))
			}
		}
	}
	return d, nil
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

// checkTTL accepts whole seconds from 1 s up to the largest DNS TTL
// (RFC 2181 §8). Zero is refused rather than taken for "no caching", as
// a resolver that may not cache at all would query beacon for every
// connection its clients open.
func checkTTL(d time.Duration) error {
	switch {
	case d < time.Second:
		return fmt.Errorf("%s is less than 1s", d)
	case d%time.Second != 0:
		return fmt.Errorf("%s is not a whole number of seconds, as DNS TTLs are", d)
	case d/time.Second > math.MaxInt32:
		return fmt.Errorf("%s is longer than a DNS TTL can be (2^31-1 s)", d)
	}
	return nil
}

// normaliseRecursors gives each upstream a port, 53 by default.
func normaliseRecursors(rs []string) ([]string, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		hp, err := recursorAddr(r)
		if err != nil {
			return nil, err
		}
		out = append(out, hp)
	}
	return out, nil
}

func recursorAddr(r string) (string, error) {
	if a, err := netip.ParseAddr(r); err == nil {
		return net.JoinHostPort(a.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(r)
	if err != nil {
		host, port = r, "53"
	}
	if err := checkPort(port); err != nil {
		return "", fmt.Errorf("%q: %w", r, err)
	}
	n, _ := strconv.Atoi(port)
	if n == 0 {
		return "", fmt.Errorf("%q: port 0 cannot be queried", r)
	}
	port = strconv.Itoa(n) // "053" and "53" are one port
	if _, err := netip.ParseAddr(host); err != nil {
		if _, err := store.ParseAddress(host); err != nil || strings.Contains(host, ":") {
			return "", fmt.Errorf("%q is not host or host:port", r)
		}
	}
	return net.JoinHostPort(host, port), nil
}

func checkNode(s string) error {
	if s == "" {
		return errors.New("must not be empty (the host name could not be read; set -node)")
	}
	var verr *store.ValidationError
	if err := store.ValidID("node", s); errors.As(err, &verr) {
		return errors.New(verr.Msg)
	}
	return nil
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
