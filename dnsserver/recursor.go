package dnsserver

import (
	"context"
	"log/slog"
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
	addrs []string
	udp   *dns.Client
	tcp   *dns.Client
	sem   chan struct{}
	log   *slog.Logger
	// ctx ends in-flight exchanges when the server shuts down.
	ctx  context.Context
	stop context.CancelFunc
}

func newForwarder(addrs []string, timeout time.Duration, log *slog.Logger) *forwarder {
	if len(addrs) == 0 {
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	return &forwarder{
		ctx: ctx, stop: stop,
		addrs: addrs,
		udp:   &dns.Client{Net: "udp", Timeout: timeout, UDPSize: dns.MaxMsgSize},
		tcp:   &dns.Client{Net: "tcp", Timeout: timeout},
		sem:   make(chan struct{}, maxForwards),
		log:   log,
	}
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
