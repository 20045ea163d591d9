package main

import (
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/beacon-dns/beacon/dnsserver"
)

// warnSetup logs, once at start, set-ups that work but are likely not
// what the operator meant.
func warnSetup(log *slog.Logger, cfg *serveConfig, probe mdnsProbe) {
	msg, err := probe.mdnsWarning(cfg.zone())
	switch {
	case err != nil:
		log.Debug("could not check for mDNS on .local", "err", err)
	case msg != "":
		log.Warn(msg)
	}
	if cfg.Token == "" && !loopback(cfg.HTTPAddr) {
		log.Warn("the HTTP API listens beyond loopback without a token: anyone who reaches it can change the registry; set -token-file", "addr", cfg.HTTPAddr)
	}
	warnDNS(log, &cfg.DNS)
}

// warnDNS warns when DNS listens beyond loopback, where whoever reaches
// it can read the registry and, over UDP, forge a victim's address to
// have beacon's answers, larger than the queries, sent there.
func warnDNS(log *slog.Logger, c *dnsserver.Config) {
	if loopback(c.Addr) {
		return
	}
	switch {
	case c.RateLimit == 0:
		log.Warn("DNS listens beyond loopback with no rate limit: anyone who reaches it can read the registry and, forging a victim's address over UDP, flood the victim with its answers; set -dns-rate-limit (e.g. 200)", "addr", c.Addr)
	default:
		log.Warn("DNS listens beyond loopback: anyone who reaches it can read the registry", "addr", c.Addr, "rate_limit", c.RateLimit)
	}
	if len(c.Recursors) > 0 && slices.ContainsFunc(c.RecursorAllow, func(n string) bool { return strings.HasSuffix(n, "/0") }) {
		log.Warn("-recursor-allow admits every client: beacon forwards for anyone who reaches it, an open resolver", "recursor_allow", c.RecursorAllow)
	}
}

// loopback reports whether a listen address binds only loopback.
func loopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
