package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/admin"
	"github.com/beacon-dns/beacon/dnsserver"
	"github.com/beacon-dns/beacon/health"
)

// serveConfig is what `beacon serve` runs with, after flags, environment
// and validation. The defaults are those of DESIGN.md; the DNS ones are
// dnsserver's.
type serveConfig struct {
	DataDir    string
	DNS        dnsserver.Config // the DNS flags, as dnsserver.Config.Validate normalised them
	HTTPAddr   string
	Datacenter string
	Node       string
	Advertise  string
	Token      string // from -token, or read from -token-file
	TokenFile  string
	TLSCert    string
	TLSKey     string
	TLS        *tls.Config // loaded from -tls-cert and -tls-key; nil for plain HTTP
	LogLevel   slog.Level
	// Health checks: the pool's size (0 sizes it to the checks) and
	// where checks may connect.
	CheckWorkers int
	CheckTargets health.Targets
	// HTTPMaxConnsPerClient and HTTPMaxConns bound the HTTP API's open
	// connections per client address (0: no bound) and in total.
	HTTPMaxConnsPerClient int
	HTTPMaxConns          int

	Store       string      // -store as given
	StoreTarget storeTarget // -store parsed
	EtcdCACert  string
	EtcdCert    string
	EtcdKey     string
	EtcdTLS     *tls.Config // from the three above; nil for plain gRPC
	EtcdTimeout time.Duration
	NodeTTL     time.Duration
}

// serveFlags defines every `serve` flag on fs, filling cfg.
func serveFlags(fs *flagSet, cfg *serveConfig) {
	host, _ := os.Hostname()
	fs.StringVar(&cfg.DataDir, "data-dir", "./data", "directory of beacon.db (created if missing)")
	fs.StringVar(&cfg.DNS.Addr, "dns-addr", dnsserver.DefaultAddr, "UDP and TCP listen address for DNS")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:8500", "HTTP API listen address")
	fs.StringVar(&cfg.DNS.Domain, "domain", dnsserver.DefaultDomain, "the zone served")
	fs.StringVar(&cfg.Datacenter, "datacenter", "dc1", "datacenter name in Consul-style responses")
	fs.DurationVar(&cfg.DNS.TTL, "ttl", dnsserver.DefaultTTL, "DNS TTL for records of passing instances")
	fs.DurationVar(&cfg.DNS.WarningTTL, "warning-ttl", dnsserver.DefaultWarningTTL, "DNS TTL when any instance in the answer is warning")
	fs.DurationVar(&cfg.DNS.NegativeTTL, "negative-ttl", dnsserver.DefaultNegativeTTL, "SOA minimum: TTL of NXDOMAIN/NODATA answers")
	fs.BoolVar(&cfg.DNS.OnlyPassing, "only-passing", false, "leave warning instances out of DNS answers")
	fs.Float64Var(&cfg.DNS.PanicThreshold, "panic-threshold", 0, "when fewer than this `share` (0 to 1) of a service's instances not in maintenance are healthy, DNS answers with all of them at -warning-ttl; 0: off")
	fs.Var((*listFlag)(&cfg.DNS.Recursors), "recursor", "upstream `host[:port]` for names outside the zone (repeatable; env: comma-separated)")
	fs.IntVar(&cfg.DNS.RateLimit, "dns-rate-limit", dnsserver.DefaultRateLimit, "UDP responses per second to one client network (/24, /56); 0: no limit")
	fs.IntVar(&cfg.DNS.RateLimitSlip, "dns-rate-limit-slip", dnsserver.DefaultRateLimitSlip, "over -dns-rate-limit, send one in `N` responses empty with TC set (clients retry over TCP) and drop the rest; 1: all truncated, 0: all dropped")
	fs.Var((*listFlag)(&cfg.DNS.RecursorAllow), "recursor-allow", "client `CIDR` whose names outside the zone go to -recursor; others get REFUSED (repeatable; env: comma-separated; default "+strings.Join(dnsserver.DefaultRecursorAllow(), ", ")+")")
	fs.StringVar(&cfg.Node, "node", host, "node name reported in Consul-style responses")
	fs.StringVar(&cfg.Advertise, "advertise", "127.0.0.1", "address used for an instance registered without one")
	fs.StringVar(&cfg.Token, "token", "", "when set, every API call except /v1/status/*, /healthz and /metrics needs it")
	fs.StringVar(&cfg.TokenFile, "token-file", "", "read the token from this `file`")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "certificate `file` (PEM) to serve the HTTP API over TLS")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "private key `file` (PEM) of -tls-cert")
	fs.StringVar(&cfg.Store, "store", "bolt", "where the registry lives: `bolt` (in -data-dir) or etcd://HOST:PORT[,HOST:PORT…][/PREFIX] (prefix default /beacon)")
	fs.StringVar(&cfg.EtcdCACert, "etcd-cacert", "", "CA certificate `file` (PEM) that signed etcd's certificates")
	fs.StringVar(&cfg.EtcdCert, "etcd-cert", "", "client certificate `file` (PEM) for etcd")
	fs.StringVar(&cfg.EtcdKey, "etcd-key", "", "private key `file` (PEM) of -etcd-cert")
	fs.DurationVar(&cfg.EtcdTimeout, "etcd-timeout", 5*time.Second, "a write etcd has not committed by then fails with 503")
	fs.DurationVar(&cfg.NodeTTL, "node-ttl", 10*time.Second, "with -store etcd://…: a node etcd has not heard from for this long (whole seconds) is no longer a member")
	fs.Var((*levelFlag)(&cfg.LogLevel), "log-level", "log `level`: debug, info, warn or error (default info)")
	fs.IntVar(&cfg.CheckWorkers, "check-workers", 0, "most health checks running at once; 0 (the default) sizes the pool to the checks' timeouts within half the descriptor limit")
	fs.Var(&cfg.CheckTargets, "check-targets", "where HTTP and TCP checks may connect: any, or a comma-separated list of instance (each check only to its instance's address) and `CIDRs` (default any)")
	fs.IntVar(&cfg.HTTPMaxConnsPerClient, "http-max-conns-per-client", admin.DefaultMaxConnsPerClient, "most HTTP connections one client address may hold open (0: no bound)")
	fs.IntVar(&cfg.HTTPMaxConns, "http-max-conns", admin.DefaultMaxConns, "most HTTP connections open at once, lowered to half the descriptor limit if above it")
}

// zone is the zone served, as people write it: without the trailing dot.
func (cfg *serveConfig) zone() string { return strings.TrimSuffix(cfg.DNS.Domain, ".") }

// parseServe reads the serve configuration from args, then the
// environment for each flag not on the command line, and validates it.
func parseServe(fs *flagSet, args []string, getenv env) (*serveConfig, error) {
	cfg := &serveConfig{LogLevel: slog.LevelInfo}
	serveFlags(fs, cfg)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve takes no arguments, got %q", fs.Arg(0))
	}
	src, err := applyEnv(fs.FlagSet, getenv)
	if err != nil {
		return nil, err
	}
	if err := cfg.validate(src); err != nil {
		return nil, err
	}
	return cfg, nil
}

// levelFlag is the -log-level flag.
type levelFlag slog.Level

func (l *levelFlag) String() string { return strings.ToLower(slog.Level(*l).String()) }

func (l *levelFlag) Set(v string) error {
	switch strings.ToLower(v) {
	case "debug":
		*l = levelFlag(slog.LevelDebug)
	case "info":
		*l = levelFlag(slog.LevelInfo)
	case "warn", "warning":
		*l = levelFlag(slog.LevelWarn)
	case "error":
		*l = levelFlag(slog.LevelError)
	default:
		return fmt.Errorf("%q is not a log level; use debug, info, warn or error", v)
	}
	return nil
}

var _ flag.Value = (*levelFlag)(nil)
