package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// maxForwards bounds the forwarded queries in flight, so a slow upstream
// costs memory and goroutines only up to a point; beyond it queries get
// SERVFAIL at once.
const maxForwards = 1024

// forwarder sends questions outside the zone to the recursors in order:
// over UDP, again over TCP when the reply is truncated, and on to the
// next recursor on a timeout, any other failure, or SERVFAIL.
type forwarder struct {
	// recursors are as configured; addrs are the same, resolved by start.
	recursors []string
	addrs     []string
	allow     []netip.Prefix
	udp       *dns.Client
	tcp       *dns.Client
	sem       chan struct{}
	log       *slog.Logger
	// ctx ends in-flight exchanges when the server shuts down.
	ctx  context.Context
	stop context.CancelFunc
}

func newForwarder(cfg *Config) *forwarder {
	if len(cfg.Recursors) == 0 {
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	return &forwarder{
		ctx: ctx, stop: stop,
		recursors: cfg.Recursors,
		allow:     parseNets(cfg.RecursorAllow),
		udp:       &dns.Client{Net: "udp", Timeout: cfg.RecursorTimeout, UDPSize: dns.MaxMsgSize},
		tcp:       &dns.Client{Net: "tcp", Timeout: cfg.RecursorTimeout},
		sem:       make(chan struct{}, maxForwards),
		log:       cfg.Logger,
	}
}

// start looks the recursors' host names up, once: per query it would go
// through the system resolver, which loops when resolv.conf points at
// beacon itself.
func (f *forwarder) start() error {
	f.addrs = make([]string, 0, len(f.recursors))
	for _, r := range f.recursors {
		ap, err := resolveRecursor(r)
		if err != nil {
			return err
		}
		f.addrs = append(f.addrs, ap.String())
	}
	return nil
}

// resolveRecursor gives a recursor's IP address, looking a host name up.
func resolveRecursor(hostPort string) (netip.AddrPort, error) {
	host, port, _ := net.SplitHostPort(hostPort)
	n, _ := parsePort(port)
	if a, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(a, n), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no address")
	}
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("recursor %s: cannot resolve %s (%v); give an IP address", hostPort, host, err)
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), n), nil
}

// allows reports whether the client at a may have its questions outside
// the zone forwarded.
func (f *forwarder) allows(a net.Addr) bool {
	ip := clientIP(a)
	for _, p := range f.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is a client's address, unmapped and without zone, as networks
// are written.
func clientIP(a net.Addr) netip.Addr {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if a != nil {
			ap, _ := netip.ParseAddrPort(a.String())
			ip = ap.Addr()
		}
	}
	return ip.Unmap().WithZone("")
}

// forward returns the first usable reply, with the client's ID, or
// errNoRecursor when every recursor fails.
func (f *forwarder) forward(req *dns.Msg) (*dns.Msg, error) {
	select {
	case f.sem <- struct{}{}:
		defer func() { <-f.sem }()
	default:
		f.log.Warn("too many forwarded DNS queries in flight; answering SERVFAIL", "limit", maxForwards)
		return nil, errNoRecursor
	}
	q := req.Copy()
	for _, addr := range f.addrs {
		r, err := f.exchange(q, addr)
		switch {
		case err != nil:
			f.log.Debug("recursor failed", "recursor", addr, "err", err)
			continue
		case r.Rcode == dns.RcodeServerFailure:
			f.log.Debug("recursor answered SERVFAIL", "recursor", addr)
			continue
		}
		r.Id = req.Id
		return r, nil
	}
	return nil, errNoRecursor
}

// exchange asks one recursor, with a fresh random ID each time so replies
// cannot be guessed from the client's.
func (f *forwarder) exchange(q *dns.Msg, addr string) (*dns.Msg, error) {
	q.Id = dns.Id()
	r, err := f.exchangeWith(f.udp, q, addr)
	if err == nil && r.Truncated {
		q.Id = dns.Id()
		r, err = f.exchangeWith(f.tcp, q, addr)
	}
	return r, err
}

// exchangeWith runs one exchange that shutting down cuts short: miekg's
// client honours a context's deadline but not its cancellation.
func (f *forwarder) exchangeWith(c *dns.Client, q *dns.Msg, addr string) (*dns.Msg, error) {
	conn, err := c.DialContext(f.ctx, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	defer context.AfterFunc(f.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })()
	r, _, err := c.ExchangeWithConnContext(f.ctx, q, conn)
	return r, err
}
