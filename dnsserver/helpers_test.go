package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit/teststore"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/beacon-dns/beacon/store"
)

// clock is a settable time source shared by the store and the server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a real store in a temp dir and a started server reading it.
type fixture struct {
	st  *store.Store
	clk *clock
	srv *Server
	reg *prometheus.Registry
}

var quiet = slog.New(slog.DiscardHandler)

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	return newTunedFixture(t, mod, nil)
}

// newTunedFixture is newFixture with tune run on the server before it
// starts, for limits that Config does not set.
func newTunedFixture(t testing.TB, mod func(*Config), tune func(*Server)) *fixture {
	t.Helper()
	clk := newClock()
	st := teststore.Open(t, store.Options{NodeName: "node1", Now: clk.Now, Logger: quiet, FlushInterval: 20 * time.Millisecond})
	reg := prometheus.NewRegistry()
	cfg := Config{Addr: "127.0.0.1:0", Logger: quiet, Registerer: reg, Now: clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg, st)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if tune != nil {
		tune(srv)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &fixture{st: st, clk: clk, srv: srv, reg: reg}
}

func (f *fixture) register(t testing.TB, r store.Registration) {
	t.Helper()
	if _, err := f.st.Register(r); err != nil {
		t.Fatalf("Register %s: %v", r.ID, err)
	}
}

// udpModes are the two ways UDP is served: batched readers, and
// miekg/dns's reader with a goroutine per query.
var udpModes = []struct {
	name    string
	readers int
}{{"batch", 0}, {"miekg", -1}}

// transport sends a query one way and returns the reply.
type transport struct {
	name string
	do   func(t testing.TB, f *fixture, q *dns.Msg) *dns.Msg
}

var transports = []transport{
	{"handler", func(t testing.TB, f *fixture, q *dns.Msg) *dns.Msg { return serveDirect(t, f.srv.h, q, false) }},
	{"udp", func(t testing.TB, f *fixture, q *dns.Msg) *dns.Msg { return exchange(t, "udp", f.srv.UDPAddr(), q) }},
	{"tcp", func(t testing.TB, f *fixture, q *dns.Msg) *dns.Msg { return exchange(t, "tcp", f.srv.TCPAddr(), q) }},
}

func exchange(t testing.TB, network string, addr net.Addr, q *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: dns.MaxMsgSize}
	r, _, err := c.Exchange(q, addr.String())
	if err != nil {
		t.Fatalf("%s exchange %v: %v", network, q.Question, err)
	}
	return r
}

// serveDirect calls the handler with a recorder, as dnstest does.
func serveDirect(t testing.TB, h dns.Handler, q *dns.Msg, tcp bool) *dns.Msg {
	t.Helper()
	r, _ := serveRaw(t, h, q, tcp)
	return r
}

// serveRaw is serveDirect that also returns the reply's bytes.
func serveRaw(t testing.TB, h dns.Handler, q *dns.Msg, tcp bool) (*dns.Msg, []byte) {
	t.Helper()
	rec := &recorder{tcp: tcp}
	h.ServeDNS(rec, q)
	if rec.n != 1 {
		t.Fatalf("handler wrote %d replies, want 1", rec.n)
	}
	r := new(dns.Msg)
	if err := r.Unpack(rec.buf); err != nil {
		t.Fatalf("unpack reply: %v", err)
	}
	return r, rec.buf
}

// recorder is a dns.ResponseWriter that keeps the last reply's bytes,
// reusing its buffer so that benchmarks measure the handler alone.
type recorder struct {
	tcp    bool
	buf    []byte
	n      int
	remote net.Addr // default remote
}

var (
	udpLocal = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	tcpLocal = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	remote   = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
)

func (r *recorder) LocalAddr() net.Addr {
	if r.tcp {
		return tcpLocal
	}
	return udpLocal
}
func (r *recorder) RemoteAddr() net.Addr {
	if r.remote != nil {
		return r.remote
	}
	return remote
}
func (r *recorder) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = r.Write(b)
	return err
}
func (r *recorder) Write(b []byte) (int, error) {
	r.buf = append(r.buf[:0], b...)
	r.n++
	return len(b), nil
}
func (r *recorder) Close() error        { return nil }
func (r *recorder) TsigStatus() error   { return nil }
func (r *recorder) TsigTimersOnly(bool) {}
func (r *recorder) Hijack()             {}

// Case is one query and the reply expected, with records written as zone
// file text (as CoreDNS's test.Case). Sections compare as sets, since
// answers are shuffled; OPT records are checked by the EDNS tests.
type Case struct {
	Qname  string
	Qtype  uint16
	Qclass uint16 // default IN
	Opcode int
	Rcode  int
	Answer []string
	Ns     []string
	Extra  []string
	// NotAuth expects AA clear (REFUSED and the like).
	NotAuth bool
}

func (c Case) Msg() *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(c.Qname, c.Qtype)
	if c.Qclass != 0 {
		m.Question[0].Qclass = c.Qclass
	}
	m.Opcode = c.Opcode
	return m
}

func (c Case) String() string {
	return fmt.Sprintf("%s/%s", c.Qname, dns.TypeToString[c.Qtype])
}

// check compares r with the case, section by section.
func (c Case) check(t testing.TB, q, r *dns.Msg) {
	t.Helper()
	if r.Id != q.Id {
		t.Errorf("%s: reply ID %d, want %d", c, r.Id, q.Id)
	}
	if r.Rcode != c.Rcode {
		t.Errorf("%s: rcode %s, want %s", c, dns.RcodeToString[r.Rcode], dns.RcodeToString[c.Rcode])
	}
	if len(r.Question) != 1 || r.Question[0].Name != q.Question[0].Name {
		t.Errorf("%s: question %v, want %q echoed exactly", c, r.Question, q.Question[0].Name)
	}
	if r.Authoritative == c.NotAuth {
		t.Errorf("%s: AA=%v, want %v", c, r.Authoritative, !c.NotAuth)
	}
	if r.RecursionAvailable {
		t.Errorf("%s: RA set, want clear", c)
	}
	if r.Truncated {
		t.Errorf("%s: TC set", c)
	}
	compareSection(t, c.String()+" answer", r.Answer, c.Answer)
	compareSection(t, c.String()+" authority", r.Ns, c.Ns)
	compareSection(t, c.String()+" additional", withoutOPT(r.Extra), c.Extra)
}

func withoutOPT(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype != dns.TypeOPT {
			out = append(out, rr)
		}
	}
	return out
}

// compareSection compares RRs as sets of their text, names lower-cased
// (RFC 4343) and TTLs exact.
func compareSection(t testing.TB, what string, got []dns.RR, want []string) {
	t.Helper()
	var g, w []string
	for _, rr := range got {
		g = append(g, canonical(rr))
	}
	for _, s := range want {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("bad expected RR %q: %v", s, err)
		}
		w = append(w, canonical(rr))
	}
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, strings.Join(g, "\n      "), strings.Join(w, "\n      "))
	}
}

func canonical(rr dns.RR) string {
	return strings.ToLower(strings.ReplaceAll(rr.String(), "\t", " "))
}

func readCounter(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// waitCounter reads c until it reaches want or a second passes: requests
// are counted once their reply is written, which the client may see
// first.
func waitCounter(c interface{ Write(*dto.Metric) error }, want float64) float64 {
	deadline := time.Now().Add(time.Second)
	got := readCounter(c)
	for got < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		got = readCounter(c)
	}
	return got
}

func mustGather(t *testing.T, f *fixture) []*dto.MetricFamily {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// exchangeRaw sends q and returns the reply with its exact bytes.
func exchangeRaw(t testing.TB, network string, addr net.Addr, q *dns.Msg) (*dns.Msg, []byte) {
	t.Helper()
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	r, raw := roundTrip(t, network, addr, b)
	if r.Id != q.Id {
		t.Fatalf("reply ID %d, want %d", r.Id, q.Id)
	}
	return r, raw
}

// exchangeBytes sends raw bytes as one query and returns the reply.
func exchangeBytes(t testing.TB, network string, addr net.Addr, b []byte) *dns.Msg {
	t.Helper()
	r, _ := roundTrip(t, network, addr, b)
	return r
}

// roundTrip sends b as one query and returns the reply, decoded and as
// its exact bytes.
func roundTrip(t testing.TB, network string, addr net.Addr, b []byte) (*dns.Msg, []byte) {
	t.Helper()
	conn, err := net.DialTimeout(network, addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	co := &dns.Conn{Conn: conn, UDPSize: dns.MaxMsgSize}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := co.Write(b); err != nil {
		t.Fatal(err)
	}
	raw, err := co.ReadMsgHeader(nil)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(raw); err != nil {
		t.Fatalf("unpack reply: %v", err)
	}
	return r, raw
}
