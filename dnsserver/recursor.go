package dnsserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// maxForwards bounds the forwarded queries in flight, so a slow upstream
// costs memory and goroutines only up to a point; beyond it queries get
// SERVFAIL at once.
const maxForwards = 1024

// Loop marking. Every query beacon forwards carries an EDNS option of
// its own, from the range RFC 6891 section 9 keeps for local use, whose
// data is random per server. A query that arrives with this server's
// mark is one of its own forwards come back, through its own address or
// a recursor that passes options on (dnsmasq, another beacon): it gets
// SERVFAIL at once instead of being forwarded again. Recursors that build
// queries of their own (unbound, BIND) drop the mark; there, one
// question is forwarded only once at a time (see flight), so the query
// coming back waits for the forward it belongs to, the loop ends with
// that forward's timeout instead of multiplying, and the failure, kept
// for a second, answers the recursor's retries.
const (
	markCode = 65401
	markSize = 8
)

// logEvery spaces the warnings about loops, which come once per query.
const logEvery = time.Minute

// failHold is how long a question whose forward failed fails at once.
const failHold = time.Second

// errLoop: a query this server forwarded came back to it.
var errLoop = fmt.Errorf("%w: forwarding loop", errNoRecursor)

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
	mark      []byte
	// ctx ends in-flight exchanges when the server shuts down.
	ctx  context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	flights map[flightKey]*flight
	// loopLogged is when a loop was last logged, in Unix seconds.
	loopLogged atomic.Int64
	// sent counts the queries sent to recursors.
	sent atomic.Int64
}

func newForwarder(cfg *Config) *forwarder {
	if len(cfg.Recursors) == 0 {
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	mark := make([]byte, markSize)
	rand.Read(mark)
	return &forwarder{
		ctx: ctx, stop: stop,
		recursors: cfg.Recursors,
		allow:     parseNets(cfg.RecursorAllow),
		udp:       &dns.Client{Net: "udp", Timeout: cfg.RecursorTimeout, UDPSize: dns.MaxMsgSize},
		tcp:       &dns.Client{Net: "tcp", Timeout: cfg.RecursorTimeout},
		sem:       make(chan struct{}, maxForwards),
		log:       cfg.Logger,
		mark:      mark,
		flights:   map[flightKey]*flight{},
	}
}

// start looks the recursors' host names up, once: per query it would go
// through the system resolver, which loops when resolv.conf points at
// beacon itself. It refuses a recursor that is this server's own
// address (own, as bound), to which every forward would come back.
func (f *forwarder) start(own net.Addr) error {
	ownAP, _ := netip.ParseAddrPort(own.String())
	f.addrs = make([]string, 0, len(f.recursors))
	for _, r := range f.recursors {
		ap, err := resolveRecursor(r)
		if err != nil {
			return err
		}
		if self(ap, ownAP, interfaceAddrs) {
			return fmt.Errorf("recursor %s is this server's own address (%s): every query forwarded to it would come back; give the upstream resolver's address", r, own)
		}
		f.addrs = append(f.addrs, ap.String())
	}
	return nil
}

// resolveRecursor gives a recursor's IP address, looking a host name up.
func resolveRecursor(hostPort string) (netip.AddrPort, error) {
	host, port, _ := net.SplitHostPort(hostPort)
	n, _ := store.ParsePort(port)
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

// self reports whether a query sent to r reaches a server listening on
// own: the same port, and the same address, or any address of this host
// when own is the unspecified one (IPv4 only for 0.0.0.0).
func self(r, own netip.AddrPort, local func() []netip.Addr) bool {
	if r.Port() != own.Port() {
		return false
	}
	ra, oa := r.Addr().Unmap().WithZone(""), own.Addr().Unmap().WithZone("")
	switch {
	case ra == oa:
		return true
	case !oa.IsUnspecified():
		return false
	case oa.Is4() && !ra.Is4():
		return false
	case ra.IsUnspecified() || ra.IsLoopback():
		return true
	}
	for _, a := range local() {
		if a == ra {
			return true
		}
	}
	return false
}

// interfaceAddrs lists this host's addresses.
func interfaceAddrs() []netip.Addr {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range ifs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
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

// forward returns the first usable reply, with the client's ID and
// question, or errNoRecursor when every recursor fails.
func (f *forwarder) forward(req *dns.Msg) (*dns.Msg, error) {
	if f.marked(req) {
		f.logLoop(req)
		return nil, errLoop
	}
	select {
	case f.sem <- struct{}{}:
		defer func() { <-f.sem }()
	default:
		f.log.Warn("too many forwarded DNS queries in flight; answering SERVFAIL", "limit", maxForwards)
		return nil, errNoRecursor
	}
	k := keyOf(req)
	f.mu.Lock()
	fl, ok := f.flights[k]
	if !ok {
		fl = &flight{done: make(chan struct{})}
		f.flights[k] = fl
	}
	f.mu.Unlock()
	if !ok {
		f.fly(k, fl, req)
	}
	<-fl.done
	if fl.err != nil {
		return nil, fl.err
	}
	r := fl.reply.Copy()
	r.Id = req.Id
	r.Question = append(r.Question[:0], req.Question...)
	return r, nil
}

// fly forwards req for every query with its key. A failure stays on
// record for failHold, and meanwhile the same question fails at once:
// resolvers must cache resolution failures for at least a second (RFC
// 9520), and it stops a loop that no mark reveals from coming round
// again.
func (f *forwarder) fly(k flightKey, fl *flight, req *dns.Msg) {
	// Should ask panic, the queries waiting fail rather than hang.
	fl.err = errNoRecursor
	defer func() {
		if fl.err == nil {
			f.land(k, fl)
		} else {
			time.AfterFunc(failHold, func() { f.land(k, fl) })
		}
		close(fl.done)
	}()
	fl.reply, fl.err = f.ask(req)
}

// land forgets fl, unless a later flight took its place.
func (f *forwarder) land(k flightKey, fl *flight) {
	f.mu.Lock()
	if f.flights[k] == fl {
		delete(f.flights, k)
	}
	f.mu.Unlock()
}

// ask tries the recursors in turn with req, marked as forwarded by this
// server.
func (f *forwarder) ask(req *dns.Msg) (*dns.Msg, error) {
	q := req.Copy()
	opt := q.IsEdns0()
	if opt == nil {
		// 1232 bytes avoid IP fragmentation (DNS flag day 2020); larger
		// replies come over TCP.
		q.SetEdns0(1232, false)
		opt = q.IsEdns0()
	}
	opt.Option = append(opt.Option, &dns.EDNS0_LOCAL{Code: markCode, Data: f.mark})
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
		return r, nil
	}
	return nil, errNoRecursor
}

// marked reports whether req carries this server's forwarding mark.
func (f *forwarder) marked(req *dns.Msg) bool {
	opt := req.IsEdns0()
	if opt == nil {
		return false
	}
	for _, o := range opt.Option {
		if l, ok := o.(*dns.EDNS0_LOCAL); ok && l.Code == markCode && bytes.Equal(l.Data, f.mark) {
			return true
		}
	}
	return false
}

func (f *forwarder) logLoop(req *dns.Msg) {
	now := time.Now().Unix()
	last := f.loopLogged.Load()
	if now-last < int64(logEvery/time.Second) || !f.loopLogged.CompareAndSwap(last, now) {
		return
	}
	f.log.Warn("a query this server forwarded came back to it: the recursors forward to beacon; answering SERVFAIL",
		"question", req.Question, "recursors", f.addrs)
}

// exchange asks one recursor, with a fresh random ID each time so replies
// cannot be guessed from the client's.
func (f *forwarder) exchange(q *dns.Msg, addr string) (*dns.Msg, error) {
	f.sent.Add(1)
	q.Id = dns.Id()
	r, err := f.exchangeWith(f.udp, q, addr)
	if err == nil && r.Truncated {
		f.sent.Add(1)
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

// flight is one question being forwarded. Queries asking the same
// question meanwhile wait for its reply instead of forwarding again: it
// spares the recursors, and it is what keeps a loop through a recursor
// that drops the mark from multiplying, since the query coming back
// finds its own question in flight.
type flight struct {
	done  chan struct{}
	reply *dns.Msg // read-only once done is closed
	err   error
}

// flightKey is what makes two questions one for the recursors: the name
// without case, type, class and the flags that change an answer.
type flightKey struct {
	name          string
	qtype, qclass uint16
	rd, cd, do    bool
}

// keyOf is the key of a request with one question, as every forwarded
// one has.
func keyOf(req *dns.Msg) flightKey {
	q := req.Question[0]
	k := flightKey{
		name: lowerASCII(q.Name), qtype: q.Qtype, qclass: q.Qclass,
		rd: req.RecursionDesired, cd: req.CheckingDisabled,
	}
	if opt := req.IsEdns0(); opt != nil {
		k.do = opt.Do()
	}
	return k
}
