package admin

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Default connection limits of the HTTP API. The per-client one is
// Consul's http_max_conns_per_client. The total keeps every client
// together well inside the descriptor budget, whose soft limit beacon
// raises to the hard one at start.
const (
	DefaultMaxConnsPerClient = 200
	DefaultMaxConns          = 4096
)

// ConnLimits bound the HTTP connections beacon holds open at once, so
// that idle keep-alive connections cannot exhaust its descriptors.
type ConnLimits struct {
	// PerClient bounds the connections of one client IP address; 0
	// means no bound. The serve flag defaults to
	// DefaultMaxConnsPerClient.
	PerClient int
	// Total bounds all connections together; 0 means no bound. The
	// serve flag defaults to DefaultMaxConns.
	Total int
	// Registerer receives beacon_http_connections_open and
	// beacon_http_connections_refused_total{limit}; nil registers
	// nothing.
	Registerer prometheus.Registerer
	// Logger receives a warning, at most every 10 s, while connections
	// are refused; default slog.Default().
	Logger *slog.Logger
}

// refuseLogEvery spaces the warnings about refused connections.
const refuseLogEvery = 10 * time.Second

// LimitListener returns ln bounded by lim. A connection over a limit is
// closed as soon as it is accepted, before it costs a goroutine, a TLS
// handshake or a read: the client sees the connection closed, as it
// would by Consul's limit. A connection counts until it is closed.
func LimitListener(ln net.Listener, lim ConnLimits) net.Listener {
	l := &limitListener{Listener: ln, lim: lim, perClient: map[netip.Addr]int{}, log: lim.Logger}
	if l.log == nil {
		l.log = slog.Default()
	}
	if lim.Registerer != nil {
		f := promauto.With(lim.Registerer)
		f.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "beacon", Subsystem: "http", Name: "connections_open",
			Help: "HTTP connections open now.",
		}, func() float64 { return float64(l.openNow()) })
		refused := f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "beacon", Subsystem: "http", Name: "connections_refused_total",
			Help: "HTTP connections closed on accepting them, by the limit they were over (client or total).",
		}, []string{"limit"})
		l.refusedClient, l.refusedTotal = refused.WithLabelValues("client"), refused.WithLabelValues("total")
	}
	return l
}

// limitListener counts open connections per client address and in
// total; mu guards the counts.
type limitListener struct {
	net.Listener
	lim ConnLimits
	log *slog.Logger

	mu        sync.Mutex
	open      int
	perClient map[netip.Addr]int
	// refusals since the last warning, and when that was.
	refusals int
	warned   time.Time

	refusedClient, refusedTotal prometheus.Counter
}

// Accept returns the next connection within the limits, closing those
// over them on the way.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := clientIP(c.RemoteAddr())
		if over := l.acquire(ip); over != "" {
			// Counted before the close, so whoever sees the connection
			// closed also sees it counted.
			l.refused(over, ip)
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, ip: ip}, nil
	}
}

// acquire counts a new connection from ip, or names the limit it is
// over ("client" or "total") and counts nothing.
func (l *limitListener) acquire(ip netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.lim.Total > 0 && l.open >= l.lim.Total:
		return "total"
	case l.lim.PerClient > 0 && l.perClient[ip] >= l.lim.PerClient:
		return "client"
	}
	l.open++
	l.perClient[ip]++
	return ""
}

func (l *limitListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.perClient[ip]--; l.perClient[ip] <= 0 {
		delete(l.perClient, ip)
	}
}

func (l *limitListener) openNow() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// refused counts a refusal and warns at most every refuseLogEvery.
func (l *limitListener) refused(over string, ip netip.Addr) {
	switch {
	case over == "client" && l.refusedClient != nil:
		l.refusedClient.Inc()
	case over == "total" && l.refusedTotal != nil:
		l.refusedTotal.Inc()
	}
	l.mu.Lock()
	l.refusals++
	now := time.Now()
	if now.Sub(l.warned) < refuseLogEvery {
		l.mu.Unlock()
		return
	}
	n := l.refusals
	l.refusals, l.warned = 0, now
	l.mu.Unlock()
	limit := l.lim.Total
	if over == "client" {
		limit = l.lim.PerClient
	}
	l.log.Warn("http connections refused at the connection limit", "limit", over, "max", limit, "client", ip, "refused", n)
}

// clientIP is the address a connection's limit is counted against.
func clientIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// limitedConn gives its place back when closed, once however often it
// is closed.
type limitedConn struct {
	net.Conn
	l    *limitListener
	ip   netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

var _ net.Listener = (*limitListener)(nil)
