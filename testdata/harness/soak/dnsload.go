package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

const (
	// dnsTimeout is how long a query may take before it counts as failed.
	dnsTimeout = 2 * time.Second
	// missingNames is how many distinct unknown names are asked: real
	// clients repeat theirs, and unique names would only measure the
	// answer cache filling up.
	missingNames = 1000
	// maxErrs bounds the failures kept for the report.
	maxErrs = 10
)

// queryKind is one of the questions the DNS load asks in turn.
type queryKind int

const (
	askStableSRV queryKind = iota
	askStableA
	askFlapSRV
	askChurnSRV
	askMissing
	askStableTCP // stable SRV over a kept-open TCP connection
	numKinds
)

// dnsLoad queries beacon from several goroutines at a set rate and checks
// every answer.
type dnsLoad struct {
	addr    string
	workers int
	qps     int
	want    expectations

	answered      atomic.Int64
	failed        atomic.Int64
	timeouts      atomic.Int64
	tcpRetries    atomic.Int64 // UDP answers truncated and asked again over TCP
	tcpReconnects atomic.Int64 // kept-open TCP connections the server closed
	flapChanges   atomic.Int64 // changes of the flap answer a worker saw

	mu   sync.Mutex
	hist latencyHist
	errs []string // the first few failures, for the report
}

// run queries until ctx ends at qps queries per second in all; a worker
// that fell behind catches up.
func (l *dnsLoad) run(ctx context.Context, duration time.Duration) {
	var wg sync.WaitGroup
	interval := time.Duration(l.workers) * time.Second / time.Duration(l.qps)
	limit := int(duration/interval) + 1 // bound per worker besides ctx
	for w := 0; w < l.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.worker(ctx, w, interval, limit)
		}()
	}
	wg.Wait()
}

func (l *dnsLoad) worker(ctx context.Context, w int, interval time.Duration, limit int) {
	c := &dnsConns{addr: l.addr, load: l,
		udpClient: &dns.Client{Net: "udp", Timeout: dnsTimeout},
		tcpClient: &dns.Client{Net: "tcp", Timeout: dnsTimeout}}
	defer c.close()
	var hist latencyHist
	defer func() {
		l.mu.Lock()
		l.hist.merge(&hist)
		l.mu.Unlock()
	}()
	var lastFlap string
	start := time.Now()
	for i := 0; i < limit; i++ {
		if !pace(ctx, start.Add(time.Duration(i)*interval)) {
			return
		}
		kind := queryKind((i + w) % int(numKinds))
		q := l.want.question(kind, i)
		r, rtt, err := c.exchange(q, kind == askStableTCP)
		if err != nil {
			l.fail(fmt.Errorf("%s: %w", q.Question[0].Name, err))
			continue
		}
		hist.observe(rtt)
		sig, err := l.want.check(kind, q, r)
		if err != nil {
			l.fail(fmt.Errorf("%s %s: %w", q.Question[0].Name, dns.TypeToString[q.Question[0].Qtype], err))
			continue
		}
		l.answered.Add(1)
		if kind == askFlapSRV {
			if lastFlap != "" && sig != lastFlap {
				l.flapChanges.Add(1)
			}
			lastFlap = sig
		}
	}
}

func (l *dnsLoad) fail(err error) {
	l.failed.Add(1)
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		l.timeouts.Add(1)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < maxErrs {
		l.errs = append(l.errs, err.Error())
	}
}

// question builds query i of a kind; every third name is in mixed case,
// which the answer must echo as asked.
func (e *expectations) question(kind queryKind, i int) *dns.Msg {
	var name string
	qtype := dns.TypeSRV
	switch kind {
	case askStableSRV, askStableTCP:
		name = stableService
	case askStableA:
		name, qtype = stableService, dns.TypeA
	case askFlapSRV:
		name = flapService
	case askChurnSRV:
		name = churnService(i)
	case askMissing:
		name, qtype = soakPrefix+"nosuch-"+strconv.Itoa(i%missingNames), dns.TypeA
	}
	name += "." + e.domain + "."
	if i%3 == 0 {
		name = strings.ToUpper(name[:1]) + name[1:]
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, false)
	return m
}

// dnsConns are one worker's connections: a UDP socket, and a TCP
// connection kept open as RFC 7766 suggests.
type dnsConns struct {
	addr      string
	load      *dnsLoad
	udpClient *dns.Client
	tcpClient *dns.Client
	udp, tcp  *dns.Conn
	tcpUsed   bool // tcp has answered before
}

// exchange asks q over UDP, or over TCP when tcp is set or the UDP answer
// was truncated; the latency is that of both.
func (c *dnsConns) exchange(q *dns.Msg, tcp bool) (*dns.Msg, time.Duration, error) {
	if tcp {
		return c.exchangeTCP(q)
	}
	if c.udp == nil {
		conn, err := c.udpClient.Dial(c.addr)
		if err != nil {
			return nil, 0, err
		}
		c.udp = conn
	}
	// Replies with another ID, late answers to earlier queries, are
	// skipped by ExchangeWithConn on a packet conn.
	r, rtt, err := c.udpClient.ExchangeWithConn(q, c.udp)
	if err != nil || !r.Truncated {
		return r, rtt, err
	}
	c.load.tcpRetries.Add(1)
	r, rtt2, err := c.exchangeTCP(q)
	return r, rtt + rtt2, err
}

// exchangeTCP asks q on the kept-open TCP connection. The server may
// close one it has used (idle or per-connection limits); then the query
// is asked again once on a new connection, as a resolver would.
func (c *dnsConns) exchangeTCP(q *dns.Msg) (*dns.Msg, time.Duration, error) {
	for attempt := 0; ; attempt++ {
		if c.tcp == nil {
			conn, err := c.tcpClient.Dial(c.addr)
			if err != nil {
				return nil, 0, fmt.Errorf("over TCP: %w", err)
			}
			c.tcp, c.tcpUsed = conn, false
		}
		r, rtt, err := c.tcpClient.ExchangeWithConn(q, c.tcp)
		if err == nil {
			c.tcpUsed = true
			return r, rtt, nil
		}
		reused := c.tcpUsed
		c.tcp.Close()
		c.tcp = nil
		if !reused || attempt > 0 {
			return nil, 0, fmt.Errorf("over TCP: %w", err)
		}
		c.load.tcpReconnects.Add(1)
	}
}

func (c *dnsConns) close() {
	if c.udp != nil {
		c.udp.Close()
	}
	if c.tcp != nil {
		c.tcp.Close()
	}
}
