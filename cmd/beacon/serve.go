package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-dns/beacon/admin"
	"github.com/beacon-dns/beacon/dnsserver"
	"github.com/beacon-dns/beacon/health"
	"github.com/beacon-dns/beacon/store"
)

// Shutdown deadlines. Blocking queries are cancelled as the HTTP
// shutdown begins, so only a stuck handler runs into its deadline.
const (
	httpShutdownTimeout = 10 * time.Second
	dnsShutdownTimeout  = 5 * time.Second
)

func runServe(ctx context.Context, std streams, args []string) int {
	fs := newFlagSet("serve", "[flags]   (each flag also as BEACON_<FLAG>, e.g. BEACON_DNS_ADDR)")
	cfg, err := parseServe(fs, args, std.getenv)
	if err != nil {
		return fs.fail(std, err)
	}
	log := newLogger(std.stderr, cfg.LogLevel)
	if err := serve(ctx, cfg, log, defaultMDNSProbe); err != nil {
		fmt.Fprintf(std.stderr, "beacon: %s\n", oneLine(err.Error()))
		return exitFail
	}
	return exitOK
}

// server is a running beacon: the store and the three services on it.
type server struct {
	cfg *serveConfig
	log *slog.Logger
	reg *prometheus.Registry

	// nofile is the descriptor limit in force, after raising it.
	nofile uint64

	store  *store.Store
	dns    *dnsserver.Server
	http   *http.Server
	cancel context.CancelFunc // stops the background loops
	bg     sync.WaitGroup     // the background loops
	fatal  chan error         // a component that failed while running
}

// serve runs beacon until ctx is cancelled (SIGINT or SIGTERM), then
// shuts it down gracefully. It returns an error if beacon could not start
// or a component failed while running.
func serve(ctx context.Context, cfg *serveConfig, log *slog.Logger, probe mdnsProbe) error {
	log.Info("starting beacon", "version", buildVersion(), "data_dir", cfg.DataDir, "domain", cfg.zone(), "node", cfg.Node)
	warnSetup(log, cfg, probe)
	s := &server{cfg: cfg, log: log, reg: newRegistry(), fatal: make(chan error, 4)}
	s.nofile = descriptorLimit(log)
	err := s.start(ctx)
	if err == nil {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "cause", context.Cause(ctx))
		case err = <-s.fatal:
			log.Error("shutting down after a failure", "err", err)
		}
	}
	if stopErr := s.stop(); err == nil {
		err = stopErr
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// start brings the components up in dependency order: the store, then
// DNS, health checks and finally the HTTP API, which only accepts writes
// once everything that acts on them runs. What started before a failure
// is stopped by stop.
func (s *server) start(ctx context.Context) error {
	cfg := s.cfg
	st, err := s.openStore(ctx)
	s.store = st
	if err != nil {
		return err
	}
	if err := s.startDNS(); err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	sched := health.New(health.Config{Workers: cfg.CheckWorkers, Targets: cfg.CheckTargets,
		Logger: s.log.With("component", "health"), Registerer: s.reg}, st)
	s.runBackground(bg, "health", sched.Run)
	return s.startHTTP(bg)
}

// openStore opens the registry: BoltDB in -data-dir, or etcd, whose
// first full load it waits for, so that DNS never answers from an empty
// registry that etcd holds full.
func (s *server) openStore(ctx context.Context) (*store.Store, error) {
	cfg := s.cfg
	opts := store.Options{Dir: cfg.DataDir, NodeName: cfg.Node, Datacenter: cfg.Datacenter,
		Advertise: cfg.Advertise, Logger: s.log.With("component", "store"), Registerer: s.reg}
	if !cfg.StoreTarget.Etcd {
		return store.Open(opts)
	}
	st, err := store.OpenEtcd(opts, store.EtcdOptions{Endpoints: cfg.StoreTarget.Endpoints,
		Prefix: cfg.StoreTarget.Prefix, TLS: cfg.EtcdTLS, Timeout: cfg.EtcdTimeout,
		NodeTTL: cfg.NodeTTL, HTTPAddr: advertisedHTTP(cfg)})
	if err != nil {
		return nil, err
	}
	s.log.Info("loading the registry from etcd", "endpoints", cfg.StoreTarget.Endpoints, "prefix", cfg.StoreTarget.Prefix)
	select {
	case <-st.Loaded():
		// A node refused its name is loaded but never healthy.
		if err := st.Healthy(); errors.Is(err, store.ErrNodeNameTaken) {
			return st, err
		}
		return st, nil
	case <-ctx.Done():
		return st, fmt.Errorf("stopped before the registry was loaded from etcd: %w", context.Cause(ctx))
	}
}

// advertisedHTTP is where the other nodes can reach this node's HTTP
// API: the -advertise address on the -http-addr port; "" for a port the
// system picks, which is known only after the registry is loaded.
func advertisedHTTP(cfg *serveConfig) string {
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil || port == "0" {
		return ""
	}
	return net.JoinHostPort(cfg.Advertise, port)
}

func (s *server) startDNS() error {
	cfg := s.cfg
	dcfg := cfg.DNS
	dcfg.Logger, dcfg.Registerer = s.log.With("component", "dns"), s.reg
	dns, err := dnsserver.New(dcfg, s.store)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	if err := dns.Start(); err != nil {
		return err // already "dns: …"
	}
	s.dns = dns
	s.log.Info("dns listening", "udp", dns.UDPAddr(), "tcp", dns.TCPAddr(), "domain", cfg.zone())
	return nil
}

// startHTTP binds the API's listener itself, so that the address actually
// bound (port 0 included) is logged and a bind error stops the start.
func (s *server) startHTTP(bg context.Context) error {
	cfg := s.cfg
	api := admin.New(admin.Config{
		Datacenter: cfg.Datacenter, Token: cfg.Token, Ready: s.ready,
		Gatherer: s.reg, Registerer: s.reg, Logger: s.log.With("component", "http"),
		Logs: logSource(s.log), Version: buildVersion(), Policy: cfg.DNS.Policy(),
	}, s.store)
	s.runBackground(bg, "admin", api.Run)
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	lim := httpConnLimits(cfg, s.nofile, s.log)
	lim.Registerer, lim.Logger = s.reg, s.log.With("component", "http")
	ln = admin.LimitListener(ln, lim)
	// NewServer carries cfg.TLS into srv.TLSConfig, which ServeTLS uses.
	srv := admin.NewServer(cfg.HTTPAddr, api.Handler(), cfg.TLS)
	cancelRequests(srv)
	s.http = srv
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	go func() {
		var err error
		if cfg.TLS != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			s.fatal <- fmt.Errorf("http: %w", err)
		}
	}()
	s.log.Info("http listening", "addr", ln.Addr(), "scheme", scheme, "token", cfg.Token != "",
		"max_conns", lim.Total, "max_conns_per_client", lim.PerClient)
	return nil
}

// descriptorLimit raises the soft limit on open descriptors to the hard
// one and returns the limit in force.
func descriptorLimit(log *slog.Logger) uint64 {
	n, err := raiseNoFile()
	if err != nil {
		log.Warn("could not raise the open-file limit to the hard limit", "limit", n, "err", err)
	}
	log.Info("open-file limit", "limit", n)
	return n
}

// httpConnLimits are the HTTP connection limits of cfg, with the total
// lowered to half the descriptor limit nofile when above it: the other
// half is for DNS over TCP, health checks and the database.
func httpConnLimits(cfg *serveConfig, nofile uint64, log *slog.Logger) admin.ConnLimits {
	lim := admin.ConnLimits{PerClient: cfg.HTTPMaxConnsPerClient, Total: cfg.HTTPMaxConns}
	if half := nofile / 2; uint64(lim.Total) > half {
		log.Warn("-http-max-conns is above half the open-file limit; lowered to it (raise the hard limit, ulimit -Hn, to allow more)",
			"http_max_conns", lim.Total, "open_file_limit", nofile, "lowered_to", half)
		lim.Total = int(max(half, 1))
	}
	return lim
}

// cancelRequests gives srv's requests a context that is cancelled when
// Shutdown begins, so blocking queries (up to 10 minutes) answer at once
// instead of holding the shutdown until its deadline.
func cancelRequests(srv *http.Server) {
	base, cancel := context.WithCancel(context.Background())
	prev := srv.BaseContext
	srv.BaseContext = func(ln net.Listener) context.Context {
		if prev != nil {
			return mergeCancel(prev(ln), base)
		}
		return base
	}
	srv.RegisterOnShutdown(cancel)
}

// mergeCancel returns parent, also cancelled when other is.
func mergeCancel(parent, other context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	context.AfterFunc(other, cancel)
	return ctx
}

// ready is /healthz: the store is open and the DNS listeners serve.
func (s *server) ready() error {
	if err := s.store.Healthy(); err != nil {
		return err
	}
	return s.dns.Serving()
}

// runBackground runs a loop until bg is cancelled; returning earlier
// with an error is a failure of the whole server.
func (s *server) runBackground(bg context.Context, name string, run func(context.Context) error) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := run(bg); err != nil && bg.Err() == nil {
			s.fatal <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// stop shuts down in reverse order of start whatever is running: the
// HTTP API (in-flight requests finish, blocking queries are cancelled),
// DNS (in-flight queries finish), health checks, and last the store,
// which flushes pending status changes.
func (s *server) stop() error {
	var errs []error
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
		if err := s.http.Shutdown(ctx); err != nil {
			s.log.Warn("http shutdown incomplete; closing connections", "err", err)
			s.http.Close()
		}
		cancel()
	}
	if s.dns != nil {
		ctx, cancel := context.WithTimeout(context.Background(), dnsShutdownTimeout)
		if err := s.dns.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("dns shutdown: %w", err))
		}
		cancel()
	}
	if s.cancel != nil {
		s.cancel()
		s.bg.Wait()
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the store: %w", err))
		}
	}
	return errors.Join(errs...)
}
