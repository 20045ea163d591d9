package main

import (
	"log/slog"
	"net"
	"net/netip"
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
