package dnsserver

import (
	"log/slog"
	"math"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-dns/beacon/store"
)

// Config configures a Server. New fills zero fields with the defaults
// their comments name, then checks every field with Validate.
type Config struct {
	// Addr is the UDP and TCP listen address, host:port where the host is
	// empty (every interface), an IP address or a host name; default
	// DefaultAddr.
	Addr string
	// Domain is the zone served, with or without the trailing dot, in any
	// case; default DefaultDomain. Validate makes it a lower-case FQDN.
	Domain string
	// TTL is the TTL of records of passing instances, whole seconds of at
	// least 1s; default DefaultTTL.
	TTL time.Duration
	// WarningTTL is the TTL when an instance in the answer is warning;
	// default DefaultWarningTTL.
	WarningTTL time.Duration
	// NegativeTTL is the SOA minimum and the TTL of NXDOMAIN and NODATA
	// answers; default DefaultNegativeTTL.
	NegativeTTL time.Duration
	// OnlyPassing leaves warning instances out of answers; default false.
	OnlyPassing bool
	// PanicThreshold is the share, from 0 to 1, of a service's instances
	// (those in maintenance aside) that must be healthy; below it answers
	// hold all of them at WarningTTL, as Envoy's panic routing does.
	// Default 0, which turns panic mode off.
	PanicThreshold float64
	// Recursors are upstream servers, "host" or "host:port" (port 53 by
	// default), for names outside the zone; none means such queries get
	// REFUSED. Validate gives each a port; Start looks host names up once.
	Recursors []string
	// RecursorAllow lists the client networks, as CIDRs or single
	// addresses, whose questions outside the zone go to the Recursors;
	// other clients get REFUSED for them. Nil means DefaultRecursorAllow().
	RecursorAllow []string
	// RateLimit bounds the responses per second over UDP to one client
	// network (a /24 in IPv4, a /56 in IPv6); 0, the default, sets no
	// limit. TCP is never limited: its clients cannot forge their address.
	RateLimit int
	// RateLimitSlip says what becomes of UDP responses over RateLimit:
	// one in this many is sent as an empty reply with TC set, so that a
	// real client retries over TCP, and the rest are dropped; 1 sends
	// every one truncated and 0 drops every one. beacon serve uses
	// DefaultRateLimitSlip.
	RateLimitSlip int
	// Logger receives the server's logs; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the server's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now returns the time TTLs and rate limits are computed against;
	// default time.Now.
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

// Defaults of Config, which beacon serve's flags take as theirs.
const (
	DefaultAddr        = "127.0.0.1:8600"
	DefaultDomain      = "service.local"
	DefaultTTL         = 30 * time.Second
	DefaultWarningTTL  = 5 * time.Second
	DefaultNegativeTTL = 5 * time.Second
	// DefaultRateLimit is no limit, as NSD and Knot DNS ship: a registry
	// mostly answers its own network, whose resolvers may well send
	// thousands of queries a second from one address.
	DefaultRateLimit = 0
	// DefaultRateLimitSlip truncates every other response over the limit,
	// as NSD and Knot DNS do.
	DefaultRateLimitSlip = 2

	defaultCacheSize   = 16384
	defaultMaxTCPConns = 1024
	defaultMaxTCPQs    = 65536
	defaultTCPIdle     = 10 * time.Second
	defaultRecTimeout  = 2 * time.Second
)

// DefaultRecursorAllow returns the client networks that may use the
// recursors when Config.RecursorAllow is nil: loopback, private (RFC
// 1918, RFC 4193) and link-local networks, none of which the wider
// Internet can reach, so beacon is never an open resolver by default.
func DefaultRecursorAllow() []string {
	return []string{
		"127.0.0.0/8", "::1/128",
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
		"169.254.0.0/16", "fe80::/10",
	}
}

// maxTTL is the largest TTL a record can carry (RFC 2181 section 8).
const maxTTL = time.Duration(math.MaxInt32) * time.Second

// fill applies the defaults to zero fields and checks every field.
func (c *Config) fill() error {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.WarningTTL == 0 {
		c.WarningTTL = DefaultWarningTTL
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	if c.RecursorAllow == nil {
		c.RecursorAllow = DefaultRecursorAllow()
	}
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
	return c.Validate()
}

// ConfigError is a Config field that Validate refused.
type ConfigError struct {
	// Field names the Config field, such as "TTL".
	Field string
	// Err says what is wrong with the field's value, in one sentence.
	Err error
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns what is wrong with the field.
func (e *ConfigError) Unwrap() error { return e.Err }

// Validate checks the fields that have rules, as they stand, and brings
// those with a canonical form to it: Domain to a lower-case FQDN, each
// recursor to host:port, each allowed network to its CIDR. A zero field
// is checked like any other value (a TTL of 0s is an error), since only
// New fills defaults. Validate does no network I/O, and a Config it
// accepted passes it again unchanged. The error is a *ConfigError, and
// leaves c as it was.
func (c *Config) Validate() error {
	n := *c
	if err := n.validate(); err != nil {
		return err
	}
	*c = n
	return nil
}

func (c *Config) validate() error {
	for _, f := range []struct {
		field string
		check func() error
	}{
		{"Addr", func() error { return checkListenAddr(c.Addr) }},
		{"Domain", func() error { return normalize(&c.Domain, normalizeDomain) }},
		{"TTL", func() error { return checkTTL(c.TTL) }},
		{"WarningTTL", func() error { return checkTTL(c.WarningTTL) }},
		{"NegativeTTL", func() error { return checkTTL(c.NegativeTTL) }},
		{"PanicThreshold", func() error { return checkShare(c.PanicThreshold) }},
		{"Recursors", func() error { return normalize(&c.Recursors, eachOf(recursorAddr)) }},
		{"RecursorAllow", func() error { return normalize(&c.RecursorAllow, eachOf(allowedNet)) }},
		{"RateLimit", func() error { return checkNotNegative(c.RateLimit, "0 sets no limit") }},
		{"RateLimitSlip", func() error { return checkNotNegative(c.RateLimitSlip, "0 drops every response over the limit") }},
	} {
		if err := f.check(); err != nil {
			return &ConfigError{Field: f.field, Err: err}
		}
	}
	return nil
}

// Policy is the store.DNSPolicy the server answers with, from the
// configuration; the API's explanations must use the same.
func (c *Config) Policy() store.DNSPolicy {
	return store.DNSPolicy{OnlyPassing: c.OnlyPassing, PanicThreshold: c.PanicThreshold, TTL: c.TTL, WarningTTL: c.WarningTTL}
}

// normalize replaces *v by its canonical form, or leaves it and returns
// why it has none.
func normalize[T any](v *T, canon func(T) (T, error)) error {
	n, err := canon(*v)
	if err != nil {
		return err
	}
	*v = n
	return nil
}

// eachOf applies canon to every element of a list; nil stays nil.
func eachOf(canon func(string) (string, error)) func([]string) ([]string, error) {
	return func(in []string) ([]string, error) {
		if in == nil {
			return nil, nil
		}
		out := make([]string, 0, len(in))
		for _, s := range in {
			n, err := canon(s)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	}
}
