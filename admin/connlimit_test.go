package admin

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// limitedServer serves the API over a real socket through LimitListener
// and returns its address.
func limitedServer(t *testing.T, lim ConnLimits) (string, *prometheus.Registry) {
	t.Helper()
	e := newEnv(t, Config{})
	reg := prometheus.NewRegistry()
	lim.Registerer, lim.Logger = reg, quietLogger()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer("", e.api.Handler(), nil)
	go func() { _ = srv.Serve(LimitListener(ln, lim)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), reg
}

// idleConn opens a keep-alive connection from the loopback address from
// and asks one request on it. It returns the connection, left open and
// idle, or nil when the server closed it instead of answering.
func idleConn(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("GET /v1/status/leader HTTP/1.1\r\nHost: beacon\r\n\r\n")); err != nil {
		c.Close()
		return nil
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("from %s: %s", from, resp.Status)
	}
	_ = c.SetDeadline(time.Time{})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestConnLimits: over real sockets, one client address holds at most
// PerClient connections and all together at most Total; a refused
// connection is closed unanswered, and a closed one frees its place.
func TestConnLimits(t *testing.T) {
	addr, reg := limitedServer(t, ConnLimits{PerClient: 3, Total: 5})
	var mine []net.Conn
	for i := range 3 {
		c := idleConn(t, addr, "127.0.0.1")
		if c == nil {
			t.Fatalf("connection %d of 3 from one client refused", i+1)
		}
		mine = append(mine, c)
	}
	if idleConn(t, addr, "127.0.0.1") != nil {
		t.Fatal("a 4th connection from one client was answered; the per-client limit is 3")
	}
	for i := range 2 {
		if idleConn(t, addr, "127.0.0.2") == nil {
			t.Fatalf("connection %d from another client refused below the total", i+1)
		}
	}
	if idleConn(t, addr, "127.0.0.3") != nil {
		t.Fatal("a 6th connection was answered; the total limit is 5")
	}
	for _, limit := range []string{"client", "total"} {
		if got := metricValue(t, reg, "beacon_http_connections_refused_total", "limit", limit); got != 1 {
			t.Errorf("refused{limit=%q} = %v, want 1", limit, got)
		}
	}
	if got := metricValue(t, reg, "beacon_http_connections_open"); got != 5 {
		t.Errorf("connections_open = %v, want 5", got)
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := promlint.NewWithMetricFamilies(mfs).Lint(); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}

	// Closing one gives its place back, to that client or another.
	mine[0].Close()
	waitFor(t, "the closed connection to be released", func() bool { return metricValue(t, reg, "beacon_http_connections_open") == 4 })
	if idleConn(t, addr, "127.0.0.3") == nil {
		t.Fatal("no place after a connection closed")
	}
}

// TestConnLimitsOff: 0 means no bound.
func TestConnLimitsOff(t *testing.T) {
	addr, _ := limitedServer(t, ConnLimits{})
	for i := range 30 {
		if idleConn(t, addr, "127.0.0.1") == nil {
			t.Fatalf("connection %d refused with no limits", i+1)
		}
	}
}

// metricValue reads one series of reg: the counter or gauge name whose
// labels include the given name=value pairs.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}
				if !found {
					continue series
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s %v", name, labels)
	return 0
}
