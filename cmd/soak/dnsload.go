package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// dnsTimeout is how long a query may take before it counts as failed.
const dnsTimeout = 2 * time.Second

// queryKind is one of the questions the DNS load asks in turn.
type queryKind int

const (
	askStableSRV queryKind = iota
	askStableA
	askFlapSRV
	askChurnSRV
	askMissing
	numKinds
)

// expectations is what the DNS answers must show; see check.
type expectations struct {
	domain string // lower case, no trailing dot
	// stable instances never change during the run.
	stable []instanceAddr
	// flapPorts are the ports of the flapping backends.
	flapPorts map[uint16]bool
	// churnPorts is the range [lo, hi) of churn instances' ports.
	churnLo, churnHi uint16
}

// instanceAddr is an instance's IPv4 address and port.
type instanceAddr struct {
	IP   netip.Addr
	Port uint16
}

// dnsLoad queries beacon from several goroutines at a bounded rate and
// checks every answer.
type dnsLoad struct {
	addr    string
	workers int
	qps     int
	want    expectations

	answered    atomic.Int64
	failed      atomic.Int64
	timeouts    atomic.Int64
	tcpRetries  atomic.Int64
	flapChanges atomic.Int64 // changes of the flap answer a worker saw

	mu   sync.Mutex
	hist latencyHist
	errs []string // the first few failures, for the report
}

// run queries until ctx ends, at most qps queries per second in all.
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
	udp := &dns.Client{Net: "udp", Timeout: dnsTimeout, UDPSize: dns.DefaultMsgSize}
	conn, err := udp.Dial(l.addr)
	if err != nil {
		l.fail(fmt.Errorf("dial %s: %w", l.addr, err))
		return
	}
	defer conn.Close()
	var hist latencyHist
	defer func() {
		l.mu.Lock()
		l.hist.merge(&hist)
		l.mu.Unlock()
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var lastFlap string
	for i := 0; i < limit; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		kind := queryKind((i + w) % int(numKinds))
		q := l.question(kind, i)
		r, rtt, err := l.exchange(udp, conn, q)
		if err != nil {
			l.fail(err)
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

// question builds query i of a kind; some names are in mixed case, which
// the answer must echo as asked.
func (l *dnsLoad) question(kind queryKind, i int) *dns.Msg {
	var name string
	qtype := dns.TypeSRV
	switch kind {
	case askStableSRV:
		name = "stable"
	case askStableA:
		name, qtype = "stable", dns.TypeA
	case askFlapSRV:
		name = "flap"
	case askChurnSRV:
		name = "churn"
	case askMissing:
		name, qtype = "nosuch-"+strconv.Itoa(i), dns.TypeA
	}
	name += "." + l.want.domain + "."
	if i%3 == 0 {
		name = strings.ToUpper(name[:1]) + name[1:]
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, false)
	return m
}

// exchange sends q over UDP and retries over TCP if the answer was
// truncated; the latency is that of both.
func (l *dnsLoad) exchange(udp *dns.Client, conn *dns.Conn, q *dns.Msg) (*dns.Msg, time.Duration, error) {
	r, rtt, err := udp.ExchangeWithConn(q, conn)
	if err != nil {
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			l.timeouts.Add(1)
		}
		return nil, 0, fmt.Errorf("%s: %w", q.Question[0].Name, err)
	}
	if !r.Truncated {
		return r, rtt, nil
	}
	l.tcpRetries.Add(1)
	tcp := &dns.Client{Net: "tcp", Timeout: dnsTimeout}
	r, rtt2, err := tcp.Exchange(q, l.addr)
	if err != nil {
		return nil, 0, fmt.Errorf("%s over TCP after TC: %w", q.Question[0].Name, err)
	}
	return r, rtt + rtt2, nil
}

// maxErrs bounds the failures kept for the report.
const maxErrs = 10

func (l *dnsLoad) fail(err error) {
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < maxErrs {
		l.errs = append(l.errs, err.Error())
	}
}

// check verifies answer r to query q of a kind, and returns a signature
// of the answer's instances (used to see the flap answers change).
func (e *expectations) check(kind queryKind, q, r *dns.Msg) (string, error) {
	if r.Id != q.Id || len(r.Question) != 1 || r.Question[0] != q.Question[0] {
		return "", fmt.Errorf("reply does not echo the question: id %d question %v", r.Id, r.Question)
	}
	if !r.Authoritative {
		return "", fmt.Errorf("AA not set")
	}
	switch kind {
	case askStableSRV:
		return e.checkSRV(r, dns.RcodeSuccess, func(port uint16) bool {
			return slices.ContainsFunc(e.stable, func(s instanceAddr) bool { return s.Port == port })
		}, len(e.stable), len(e.stable))
	case askStableA:
		return e.checkA(r)
	case askFlapSRV:
		return e.checkSRV(r, dns.RcodeSuccess, func(port uint16) bool { return e.flapPorts[port] }, 0, len(e.flapPorts))
	case askChurnSRV:
		inRange := func(port uint16) bool { return port >= e.churnLo && port < e.churnHi }
		if r.Rcode == dns.RcodeNameError {
			return "", e.checkNegative(r)
		}
		return e.checkSRV(r, dns.RcodeSuccess, inRange, 0, int(e.churnHi-e.churnLo))
	default:
		if r.Rcode != dns.RcodeNameError {
			return "", fmt.Errorf("rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
		}
		return "", e.checkNegative(r)
	}
}

// checkSRV checks an SRV answer: rcode, between lo and hi records, each
// with a port that belongs and an addr target whose glue is in the
// additional section.
func (e *expectations) checkSRV(r *dns.Msg, rcode int, belongs func(uint16) bool, lo, hi int) (string, error) {
	if r.Rcode != rcode {
		return "", fmt.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[rcode])
	}
	if len(r.Answer) < lo || len(r.Answer) > hi {
		return "", fmt.Errorf("%d answers, want %d to %d", len(r.Answer), lo, hi)
	}
	if len(r.Answer) == 0 {
		return "none", e.checkNegative(r)
	}
	glue := map[string]netip.Addr{}
	for _, rr := range r.Extra {
		if a, ok := rr.(*dns.A); ok {
			ip, _ := netip.AddrFromSlice(a.A.To4())
			glue[strings.ToLower(a.Hdr.Name)] = ip
		}
	}
	ports := make([]string, 0, len(r.Answer))
	for _, rr := range r.Answer {
		srv, ok := rr.(*dns.SRV)
		if !ok {
			return "", fmt.Errorf("answer %s is not an SRV", rr)
		}
		if !belongs(srv.Port) {
			return "", fmt.Errorf("SRV port %d belongs to no instance of this service", srv.Port)
		}
		ip, ok := glue[strings.ToLower(srv.Target)]
		if !ok || addrTarget(ip, e.domain) != strings.ToLower(srv.Target) {
			return "", fmt.Errorf("SRV target %s has no matching A in the additional section", srv.Target)
		}
		ports = append(ports, strconv.Itoa(int(srv.Port)))
	}
	slices.Sort(ports)
	return strings.Join(ports, ","), nil
}

// checkA checks that the stable A answer holds exactly the stable
// addresses.
func (e *expectations) checkA(r *dns.Msg) (string, error) {
	if r.Rcode != dns.RcodeSuccess {
		return "", fmt.Errorf("rcode %s, want NOERROR", dns.RcodeToString[r.Rcode])
	}
	var got, want []string
	for _, rr := range r.Answer {
		a, ok := rr.(*dns.A)
		if !ok {
			return "", fmt.Errorf("answer %s is not an A", rr)
		}
		got = append(got, a.A.String())
	}
	for _, s := range e.stable {
		want = append(want, s.IP.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return "", fmt.Errorf("addresses %v, want %v", got, want)
	}
	return strings.Join(got, ","), nil
}

// checkNegative checks that a negative answer carries the zone's SOA.
func (e *expectations) checkNegative(r *dns.Msg) error {
	if len(r.Answer) != 0 {
		return fmt.Errorf("negative answer with %d records", len(r.Answer))
	}
	for _, rr := range r.Ns {
		if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, e.domain+".") {
			return nil
		}
	}
	return fmt.Errorf("negative answer without the SOA of %s in authority", e.domain)
}

// addrTarget is the SRV target beacon gives an IPv4 instance.
func addrTarget(ip netip.Addr, domain string) string {
	b := ip.As4()
	return fmt.Sprintf("%02x%02x%02x%02x.addr.%s.", b[0], b[1], b[2], b[3], domain)
}
