package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Server. Zero fields take the defaults their comments
// name; New fills and checks them.
type Config struct {
	// Addr is the UDP and TCP listen address; default "127.0.0.1:8600".
	Addr string
	// Domain is the zone served, with or without the trailing dot, in any
	// case; default "service.local".
	Domain string
	// TTL is the TTL of records of passing instances; default 30s.
	TTL time.Duration
	// WarningTTL is the TTL when an instance in the answer is warning;
	// default 5s.
	WarningTTL time.Duration
	// NegativeTTL is the SOA minimum and the TTL of NXDOMAIN and NODATA
	// answers; default 5s.
	NegativeTTL time.Duration
	// OnlyPassing leaves warning instances out of answers; default false.
	OnlyPassing bool
	// Recursors are upstream servers, "host" or "host:port" (port 53 by
	// default), for names outside the zone; none means such queries get
	// REFUSED.
	Recursors []string
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the server's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now returns the time TTLs are computed against; default time.Now.
	Now func() time.Time

	// CacheSize bounds the number of packed answers kept; default 16384,
	// negative disables the cache.
	CacheSize int
	// MaxTCPConns bounds concurrent TCP connections; default 1024.
	MaxTCPConns int
	// MaxTCPQueries bounds the queries one TCP connection may carry
	// before the server closes it; default 65536, far above what
	// pipelining clients send per connection (miekg/dns's own default of
	// 128 breaks them), yet no connection holds a slot forever.
	MaxTCPQueries int
	// TCPIdleTimeout is how long a TCP connection may wait for its next
	// query after an answer before the server closes it (RFC 7766
	// section 6.2.3); default 10s.
	TCPIdleTimeout time.Duration
	// RecursorTimeout bounds one exchange with one recursor; default 2s.
	RecursorTimeout time.Duration
	// UDPReaders is the number of batched UDP readers (recvmmsg and
	// sendmmsg); default GOMAXPROCS. Negative, or a listen address with
	// no specific IP (where replies must leave from the address each
	// query came to), uses miekg/dns's reader, a goroutine per query.
	UDPReaders int
}

// Defaults of Config.
const (
	DefaultAddr        = "127.0.0.1:8600"
	DefaultDomain      = "service.local"
	DefaultTTL         = 30 * time.Second
	DefaultWarningTTL  = 5 * time.Second
	DefaultNegativeTTL = 5 * time.Second
	defaultCacheSize   = 16384
	defaultMaxTCPConns = 1024
	defaultMaxTCPQs    = 65536
	defaultTCPIdle     = 10 * time.Second
	defaultRecTimeout  = 2 * time.Second
)

// maxTTL is the largest TTL a record can carry (RFC 2181 section 8).
const maxTTL = time.Duration(math.MaxInt32) * time.Second

// fill applies the defaults and checks every field, naming the flag a
// user would set.
func (c *Config) fill() error {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("-dns-addr %q: want host:port, such as %s", c.Addr, DefaultAddr)
	}
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	origin, err := normalizeDomain(c.Domain)
	if err != nil {
		return err
	}
	c.Domain = origin
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.WarningTTL == 0 {
		c.WarningTTL = DefaultWarningTTL
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	for _, f := range []struct {
		flag string
		d    time.Duration
	}{{"-ttl", c.TTL}, {"-warning-ttl", c.WarningTTL}, {"-negative-ttl", c.NegativeTTL}} {
		if f.d < time.Second || f.d > maxTTL {
			return fmt.Errorf("%s %s: want a duration from 1s to %s", f.flag, f.d, maxTTL)
		}
	}
	recs := make([]string, 0, len(c.Recursors))
	for _, r := range c.Recursors {
		a, err := recursorAddr(r)
		if err != nil {
			return err
		}
		if a, err = resolveRecursor(r, a); err != nil {
			return err
		}
		recs = append(recs, a)
	}
	c.Recursors = recs
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CacheSize == 0 {
		c.CacheSize = defaultCacheSize
	}
	if c.MaxTCPConns <= 0 {
		c.MaxTCPConns = defaultMaxTCPConns
	}
	if c.MaxTCPQueries <= 0 {
		c.MaxTCPQueries = defaultMaxTCPQs
	}
	if c.TCPIdleTimeout <= 0 {
		c.TCPIdleTimeout = defaultTCPIdle
	}
	if c.RecursorTimeout <= 0 {
		c.RecursorTimeout = defaultRecTimeout
	}
	if c.UDPReaders == 0 {
		c.UDPReaders = runtime.GOMAXPROCS(0)
	}
	return nil
}

// normalizeDomain returns the zone as a lower-case FQDN.
func normalizeDomain(d string) (string, error) {
	origin := dns.CanonicalName(d)
	if origin == "." || strings.Contains(origin, `\`) || strings.HasPrefix(origin, ".") {
		return "", fmt.Errorf("-domain %q: want a domain name such as %s", d, DefaultDomain)
	}
	if _, ok := dns.IsDomainName(origin); !ok {
		return "", fmt.Errorf("-domain %q: want a domain name such as %s", d, DefaultDomain)
	}
	for _, l := range dns.SplitDomainName(origin) {
		if !isLDH(l) {
			return "", fmt.Errorf("-domain %q: label %q may hold only letters, digits and hyphens", d, l)
		}
	}
	return origin, nil
}

// recursorAddr turns "host" or "host:port" into "host:port", port 53 by
// default. An IPv6 literal may be bare ("::1") or bracketed with a port.
func recursorAddr(r string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("-recursor %q: %s; want host or host:port, such as 192.0.2.1 or 192.0.2.1:53", r, why)
	}
	if r == "" {
		return "", bad("empty")
	}
	if a, err := netip.ParseAddr(r); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	host, port := r, "53"
	if strings.Contains(r, ":") {
		h, p, err := net.SplitHostPort(r)
		if err != nil {
			return "", bad("not a host:port")
		}
		host, port = h, p
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", bad("port " + strconv.Quote(port) + " is not a number from 1 to 65535")
	}
	if _, err := netip.ParseAddr(host); err != nil {
		if _, ok := dns.IsDomainName(host); !ok || host == "" || strings.ContainsAny(host, `\ `) {
			return "", bad("host " + strconv.Quote(host) + " is neither an IP address nor a host name")
		}
	}
	return net.JoinHostPort(host, port), nil
}

// resolveRecursor looks a recursor's host name up once, at start. Looking
// it up per query would go through the system resolver, which loops when
// resolv.conf points at beacon itself.
func resolveRecursor(flag, hostPort string) (string, error) {
	host, port, _ := net.SplitHostPort(hostPort)
	if _, err := netip.ParseAddr(host); err == nil {
		return hostPort, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return "", fmt.Errorf("-recursor %q: cannot resolve %s (%v); give an IP address", flag, host, err)
	}
	return net.JoinHostPort(addrs[0].Unmap().String(), port), nil
}

// isLDH reports whether s is a non-empty run of letters, digits and hyphens.
func isLDH(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
