package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// storeTarget is a parsed -store: BoltDB, or etcd at Endpoints under
// Prefix.
type storeTarget struct {
	Etcd      bool
	Endpoints []string // host:port each
	Prefix    string   // starts with '/', no trailing '/'
}

// defaultEtcdPrefix is where the registry lives in etcd when -store
// names no prefix.
const defaultEtcdPrefix = "/beacon"

// parseStore reads -store: "bolt" or
// "etcd://HOST:PORT[,HOST:PORT…][/PREFIX]".
func parseStore(s string) (storeTarget, error) {
	if s == "bolt" {
		return storeTarget{}, nil
	}
	rest, ok := strings.CutPrefix(s, "etcd://")
	if !ok {
		return storeTarget{}, fmt.Errorf("%q is neither bolt nor etcd://HOST:PORT[,HOST:PORT…][/PREFIX]", s)
	}
	hosts, prefix, _ := strings.Cut(rest, "/")
	t := storeTarget{Etcd: true, Prefix: defaultEtcdPrefix}
	if prefix = strings.TrimRight(prefix, "/"); prefix != "" {
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.ContainsFunc(seg, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
			}) {
				return storeTarget{}, fmt.Errorf("%q: prefix /%s may hold only letters, digits, '-', '_' and '.' between single slashes", s, prefix)
			}
		}
		t.Prefix = "/" + prefix
	}
	if hosts == "" {
		return storeTarget{}, fmt.Errorf("%q names no etcd endpoint; give etcd://HOST:PORT", s)
	}
	for _, hp := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" {
			return storeTarget{}, fmt.Errorf("%q: endpoint %q is not HOST:PORT", s, hp)
		}
		if n, err := store.ParsePort(port); err != nil || n == 0 {
			return storeTarget{}, fmt.Errorf("%q: endpoint %q needs a port from 1 to 65535", s, hp)
		}
		t.Endpoints = append(t.Endpoints, net.JoinHostPort(host, port))
	}
	return t, nil
}

// checkStore parses -store and requires the etcd flags to go with it.
func (cfg *serveConfig) checkStore() (err error) {
	if cfg.StoreTarget, err = parseStore(cfg.Store); err != nil {
		return err
	}
	if cfg.EtcdTimeout <= 0 || cfg.EtcdTimeout > time.Minute {
		return fmt.Errorf("-etcd-timeout is %s; it must be more than 0 and at most 1m", cfg.EtcdTimeout)
	}
	if cfg.NodeTTL < 2*time.Second || cfg.NodeTTL > time.Hour || cfg.NodeTTL%time.Second != 0 {
		return fmt.Errorf("-node-ttl is %s; it must be whole seconds from 2s to 1h", cfg.NodeTTL)
	}
	if !cfg.StoreTarget.Etcd && (cfg.EtcdCACert != "" || cfg.EtcdCert != "" || cfg.EtcdKey != "") {
		return errors.New("-etcd-cacert, -etcd-cert and -etcd-key need -store etcd://…")
	}
	return nil
}

// loadEtcdTLS builds the TLS configuration for etcd from -etcd-cacert,
// -etcd-cert and -etcd-key; none of them means plain gRPC.
func (cfg *serveConfig) loadEtcdTLS() error {
	if cfg.EtcdCACert == "" && cfg.EtcdCert == "" && cfg.EtcdKey == "" {
		return nil
	}
	if (cfg.EtcdCert == "") != (cfg.EtcdKey == "") {
		return errors.New("-etcd-cert and -etcd-key go together")
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.EtcdCACert != "" {
		pem, err := os.ReadFile(cfg.EtcdCACert)
		if err != nil {
			return fmt.Errorf("reading %s: %w", cfg.EtcdCACert, err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s holds no PEM certificate", cfg.EtcdCACert)
		}
	}
	if cfg.EtcdCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.EtcdCert, cfg.EtcdKey)
		if err != nil {
			return fmt.Errorf("loading %s and %s: %w", cfg.EtcdCert, cfg.EtcdKey, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	cfg.EtcdTLS = c
	return nil
}
