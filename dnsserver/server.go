package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// Source is what the DNS server reads; *store.Store satisfies it.
type Source interface{ Snapshot() *store.Snapshot }

// Timeouts of the listeners. A UDP read timeout only wakes the read loop;
// over TCP it bounds the wait for the first query, and
// Config.TCPIdleTimeout the wait for each later one (RFC 7766 section
// 6.2.3); the write timeout bounds the sending of one TCP answer.
const (
	readTimeout  = 2 * time.Second
	writeTimeout = 2 * time.Second
	// udpReadSize is the read buffer: the largest UDP message, so no
	// request is cut short however large its EDNS options.
	udpReadSize = dns.MaxMsgSize
)

// Server serves the zone over UDP and TCP on one address.
type Server struct {
	cfg Config
	h   *handler
	rrl *limiter // nil without a rate limit
	// panics logs and counts services in panic mode; nil with panic
	// mode off.
	panics *panicWatch

	// tcpLim are the TCP limits, from cfg and the timeouts above.
	tcpLim tcpLimits

	// mu serializes Start and Shutdown.
	mu    sync.Mutex
	down  bool // Shutdown has run
	udp   *dns.Server
	tcp   *tcpServer
	batch *udpServer // serves UDP in place of udp when set
	done  sync.WaitGroup

	// stateMu guards what Serving and the address getters read, apart
	// from mu so that they never wait for a shutdown.
	stateMu sync.Mutex
	udpAddr net.Addr
	tcpAddr net.Addr
	state   error // why the server is not serving; nil while it is
}

var errNotStarted = errors.New("dns: server not started")

// New checks cfg, fills its defaults and returns a server reading src.
func New(cfg Config, src Source) (*Server, error) {
	if src == nil {
		return nil, errors.New("dns: no source of snapshots")
	}
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	lim := tcpLimits{
		conns: cfg.MaxTCPConns, first: readTimeout, idle: cfg.TCPIdleTimeout,
		write: writeTimeout, queries: cfg.MaxTCPQueries,
	}
	met := newMetrics(cfg.Registerer)
	return &Server{cfg: cfg, h: newHandler(&cfg, src, met), rrl: newLimiter(&cfg), tcpLim: lim, state: errNotStarted,
		panics: newPanicWatch(&cfg, src, met)}, nil
}

// Start binds UDP and TCP on cfg.Addr (with port 0, one port free for
// both) and returns once both serve.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcp != nil {
		return errors.New("dns: server already started")
	}
	pc, ln, err := listen(s.cfg.Addr)
	if err != nil {
		return listenError(s.cfg.Addr, err)
	}
	if s.h.fwd != nil {
		if err := s.h.fwd.start(pc.LocalAddr()); err != nil {
			pc.Close()
			ln.Close()
			return fmt.Errorf("dns: %w", err)
		}
	}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	errc := make(chan error, 2)
	s.tcp = newTCPServer(ln, s.h, s.tcpLim)
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		err := s.tcp.serve()
		errc <- err // buffered: Start may hold s.mu until it reads this
		s.stopped("tcp", err)
	}()
	notify()
	var servers []*dns.Server
	if udp, ok := pc.(*net.UDPConn); ok && s.cfg.UDPReaders > 0 && specificIP(s.cfg.Addr) {
		s.batch = newUDPServer(udp, s.h, s.cfg.UDPReaders)
		s.batch.rrl = s.rrl
		s.batch.start(func(err error) { s.stopped("udp", err) })
		notify()
	} else {
		var h dns.Handler = s.h
		if s.rrl != nil {
			h = limitedHandler{l: s.rrl, next: s.h}
		}
		s.udp = &dns.Server{
			Net: "udp", PacketConn: pc, Handler: h,
			UDPSize:     udpReadSize,
			ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
			MsgAcceptFunc:     s.h.accept,
			MsgInvalidFunc:    s.h.invalid,
			NotifyStartedFunc: notify,
		}
		servers = append(servers, s.udp)
	}
	s.stateMu.Lock()
	s.udpAddr, s.tcpAddr = pc.LocalAddr(), ln.Addr()
	s.stateMu.Unlock()
	for _, srv := range servers {
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			err := srv.ActivateAndServe()
			errc <- err // buffered: Start may hold s.mu until it reads this
			s.stopped(srv.Net, err)
		}()
	}
	for n := 0; n < 2; {
		select {
		case <-started:
			n++
		case err := <-errc:
			s.shutdownLocked(context.Background())
			pc.Close()
			ln.Close()
			return fmt.Errorf("dns: serve on %s: %v", s.cfg.Addr, err)
		}
	}
	s.panics.start()
	s.stateMu.Lock()
	s.state = nil
	s.stateMu.Unlock()
	return nil
}

// stopped records that a listener's serve loop returned.
func (s *Server) stopped(net string, err error) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if s.state != nil {
		return
	}
	if err == nil {
		err = errors.New("stopped")
	}
	s.state = fmt.Errorf("dns: %s listener on %s: %w", net, s.cfg.Addr, err)
	s.cfg.Logger.Error("DNS listener stopped", "net", net, "err", err)
}

// UDPAddr is the bound UDP address, nil before Start.
func (s *Server) UDPAddr() net.Addr {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return s.udpAddr
}

// TCPAddr is the bound TCP address, nil before Start.
func (s *Server) TCPAddr() net.Addr {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return s.tcpAddr
}

// Serving returns nil while both listeners serve, else why not.
func (s *Server) Serving() error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return s.state
}

// Shutdown stops both listeners and waits, up to ctx, for the requests in
// flight to be answered. Later calls do nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stateMu.Lock()
	if s.state == nil {
		s.state = errors.New("dns: server shut down")
	}
	s.stateMu.Unlock()
	if s.down {
		return nil
	}
	s.down = true
	return s.shutdownLocked(ctx)
}

func (s *Server) shutdownLocked(ctx context.Context) error {
	if s.tcp == nil {
		return nil
	}
	if s.h.fwd != nil {
		s.h.fwd.stop()
	}
	s.panics.shutdown()
	var errs []error
	if s.udp != nil {
		if err := s.udp.ShutdownContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("dns: shut down udp listener: %w", err))
		}
	}
	if err := s.tcp.shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("dns: shut down tcp listener: %w", err))
	}
	if s.batch != nil {
		if err := s.batch.shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("dns: shut down udp listener: %w", err))
		}
	}
	wait := make(chan struct{})
	go func() { s.done.Wait(); close(wait) }()
	select {
	case <-wait:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

// specificIP reports whether addr names one IP address, from which
// replies leave without per-packet source selection.
func specificIP(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	return err == nil && !ap.Addr().IsUnspecified()
}

// listen binds UDP and then TCP on the same address. With port 0 the TCP
// side takes the port the kernel gave UDP, retrying if it is taken.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		// The kernel's default receive buffer (about 200 KiB) overflows in
		// bursts under load; 1 MiB is what NSD asks for. The kernel may
		// grant less, which is no reason to fail.
		if u, ok := pc.(*net.UDPConn); ok {
			_ = u.SetReadBuffer(1 << 20)
		}
		taddr := addr
		if port == "0" {
			_, p, _ := net.SplitHostPort(pc.LocalAddr().String())
			taddr = net.JoinHostPort(host, p)
		}
		ln, err := net.Listen("tcp", taddr)
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || attempt == 10 {
			return nil, nil, err
		}
	}
}

func listenError(addr string, err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("dns: listen on %s (-dns-addr): %w; ports below 1024 need root or CAP_NET_BIND_SERVICE (sudo setcap cap_net_bind_service=+ep $(command -v beacon))", addr, err)
	}
	return fmt.Errorf("dns: listen on %s (-dns-addr): %w", addr, err)
}
