package dnsserver

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// The rules Validate applies, one function per kind of field. Each error
// is one sentence about the value alone; ConfigError adds the field.

// checkListenAddr accepts host:port where host is empty (every
// interface), an IP address or a host name, and port is 0–65535.
func checkListenAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. %s)", s, DefaultAddr)
	}
	if _, err := parsePort(port); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if host == "" || isHost(host) {
		return nil
	}
	return fmt.Errorf("%q: host %q is neither an IP address nor a host name", s, host)
}

// isHost reports whether s is an IP address or a host name.
func isHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := store.ParseAddress(s)
	return err == nil && s != "" && !strings.Contains(s, ":")
}

// parsePort reads a decimal port, 0–65535.
func parsePort(port string) (uint16, error) {
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return uint16(n), nil
}

// normalizeDomain returns the zone as a lower-case FQDN.
func normalizeDomain(s string) (string, error) {
	d := lowerASCII(strings.TrimSuffix(s, "."))
	switch {
	case d == "":
		return "", fmt.Errorf("%q names no zone; give one such as %s", s, DefaultDomain)
	case len(d) > 253:
		return "", fmt.Errorf("%q is longer than 253 characters", s)
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("%q has an empty label or one longer than 63 characters", s)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", fmt.Errorf("%q contains %q; zone labels have only letters, digits and hyphens", s, r)
			}
		}
	}
	return d + ".", nil
}

// checkTTL accepts whole seconds from 1s up to the largest DNS TTL (RFC
// 2181 section 8). Zero is refused rather than taken for "no caching",
// as a resolver that may not cache at all would query beacon for every
// connection its clients open.
func checkTTL(d time.Duration) error {
	switch {
	case d < time.Second:
		return fmt.Errorf("%s is less than 1s", d)
	case d%time.Second != 0:
		return fmt.Errorf("%s is not a whole number of seconds, as DNS TTLs are", d)
	case d > maxTTL:
		return fmt.Errorf("%s is longer than a DNS TTL can be (2^31-1 s)", d)
	}
	return nil
}

// recursorAddr turns "host" or "host:port" into "host:port", port 53 by
// default and written without leading zeros, so that one upstream has
// one form. An IPv6 literal may be bare ("::1") or bracketed with a port.
func recursorAddr(r string) (string, error) {
	if a, err := netip.ParseAddr(r); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	host, port, err := net.SplitHostPort(r)
	if err != nil {
		host, port = r, "53"
	}
	n, err := parsePort(port)
	if err != nil {
		return "", fmt.Errorf("%q: %w", r, err)
	}
	if n == 0 {
		return "", fmt.Errorf("%q: port 0 cannot be queried", r)
	}
	if !isHost(host) {
		return "", fmt.Errorf("%q is not host or host:port, such as 192.0.2.1 or 192.0.2.1:53", r)
	}
	return net.JoinHostPort(host, strconv.Itoa(int(n))), nil
}

// allowedNet turns a CIDR or a single address into its canonical CIDR,
// the host bits cleared; an IPv4 network written in IPv6 becomes IPv4,
// as clients' addresses are compared unmapped.
func allowedNet(s string) (string, error) {
	p, err := parseNet(s)
	if err != nil {
		return "", err
	}
	return p.String(), nil
}

func parseNet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR such as 10.0.0.0/8 nor an IP address", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// parseNets parses networks that Validate accepted.
func parseNets(ss []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		if p, err := parseNet(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// checkShare accepts a share from 0 to 1.
func checkShare(f float64) error {
	if !(f >= 0 && f <= 1) {
		return fmt.Errorf("%v is not a share from 0 to 1, such as 0.5; 0 turns panic mode off", f)
	}
	return nil
}

func checkNotNegative(n int, zero string) error {
	if n < 0 {
		return fmt.Errorf("%d is negative; %s", n, zero)
	}
	return nil
}
