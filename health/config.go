package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-dns/beacon/store"
)

// Store is what health needs from the registry; *store.Store satisfies it.
type Store interface {
	Snapshot() *store.Snapshot
	Subscribe() *store.Subscription
	SetCheckStatus(id string, s store.Status, output string) error
	ExpireTTL(id string) error
}

// Defaults of Config.
const (
	// DefaultWorkers is the pool for checks whose targets answer: 10,000
	// checks at a 10 s interval are 1,000 runs a second, and at the 1–10 ms
	// a healthy target takes they need 1–10 workers, so 128 leave ample
	// room. A pool sized automatically adds to it what hung targets would
	// hold (see Config.Workers).
	DefaultWorkers = 128
	// DefaultOutputInterval is how often at most an output that changed
	// without a status change is written for one check. Outputs that carry
	// a timestamp or counter would otherwise write to the store (and wake
	// every blocking query on that service) on every run.
	DefaultOutputInterval = 30 * time.Second
)

// Config configures a Scheduler. Zero fields take the defaults their
// comments name; fill applies them.
type Config struct {
	// Workers is the most checks that run at once. The default, 0, sizes
	// the pool to the checks: DefaultWorkers (128) plus, for every HTTP
	// and TCP check, its timeout over its interval (what it holds if its
	// target hangs), so that hung targets cost their timeouts and nothing
	// else; but never more than half the process's descriptor limit
	// (RLIMIT_NOFILE) less the idle connections kept, nor 131,072.
	// Workers are started as runs need them, so the size is a bound, not
	// an allocation.
	Workers int
	// Logger receives the scheduler's logs; default slog.Default().
	Logger *slog.Logger
	// Registerer receives beacon_health_checks_total,
	// beacon_health_check_duration_seconds and beacon_instances; nil
	// registers none.
	Registerer prometheus.Registerer
	// Clock is the time source of the schedule and its timers; default
	// the system's. Tests inject a fake one and move it forward instead
	// of sleeping. Check timeouts and measured durations stay in real
	// time: they bound real I/O.
	Clock Clock
	// OutputInterval is how often at most a changed output with an
	// unchanged status is written per check; default
	// DefaultOutputInterval (30s). Status changes are written at once.
	OutputInterval time.Duration
	// Transport carries HTTP checks; default a transport shared by every
	// check (see newTransport) with keep-alives and bounded idle pools.
	Transport http.RoundTripper
	// InsecureTransport carries HTTP checks with TLSSkipVerify; default a
	// second shared transport that skips certificate verification, kept
	// apart so that no verified check reuses an unverified connection.
	InsecureTransport http.RoundTripper
	// Targets bounds the addresses HTTP and TCP checks may connect to;
	// default any. The default Transport, InsecureTransport and Dial
	// enforce it.
	Targets Targets
	// Dial opens the connections of TCP checks; default a net.Dialer
	// that enforces Targets. The check's timeout reaches it through
	// ctx.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ObserveLateness, when set, is told for every run how long after its
	// planned time it started. first marks the first run of an HTTP or
	// TCP check, planned for the moment the scheduler learned of the
	// check: after a mass registration or a restart many are due at once,
	// so their lateness measures how fast the backlog drains, where that
	// of later runs measures how closely the schedule is kept. It is
	// called from worker goroutines, so it must be safe for concurrent
	// use and quick; nil observes nothing.
	ObserveLateness func(kind store.Kind, first bool, late time.Duration)

	// phase picks where in its interval a check's runs fall; default
	// uniformly at random. Tests fix it to know when runs are due.
	phase func(interval time.Duration) time.Duration
	// applied, when set, is told the number of checks after each batch of
	// changes the Run loop took in, so that tests know it did.
	applied func(checks int)
}

// Validate reports a setting the scheduler cannot run with, in one
// sentence naming the field (a *store.ValidationError, whose Msg is the
// rule alone for callers that name the field their own way). It is the
// rule the serve flags are held to.
func (c Config) Validate() error {
	if c.Workers < 0 {
		return &store.ValidationError{Field: "Workers", Msg: fmt.Sprintf("is %d; use 0 to size the pool to the checks, or the most checks to run at once", c.Workers)}
	}
	return nil
}

// fill applies the defaults and reports the transports it created, which
// Run closes when it returns.
func (c *Config) fill() (owned []*http.Transport) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.phase == nil {
		c.phase = func(iv time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(iv))) }
	}
	if c.OutputInterval <= 0 {
		c.OutputInterval = DefaultOutputInterval
	}
	if c.Transport == nil {
		t := newTransport(false, c.Targets)
		c.Transport, owned = t, append(owned, t)
	}
	if c.InsecureTransport == nil {
		t := newTransport(true, c.Targets)
		c.InsecureTransport, owned = t, append(owned, t)
	}
	if c.Dial == nil {
		c.Dial = c.Targets.dialer().DialContext
	}
	return owned
}

// newTransport builds the transport HTTP checks share. Unlike Consul,
// which opens a new connection for every run, it keeps connections
// alive: at 1,000 checks a second a handshake per check would cost more
// CPU than the checks themselves. The idle timeout covers the common
// 10 s interval, so a target checked on its own keeps its connection;
// the idle pools are bounded so that 10,000 targets do not pin 10,000
// sockets. A target that closes an idle connection just as it is reused
// costs no false failure for GET and HEAD checks: the transport retries
// such requests on a fresh connection. Proxies from the environment are
// ignored on purpose: checks go straight to the instance.
//
// The dialer enforces targets. When targets allow each check only its
// own instance, connections are not kept: one opened for a check of one
// instance must not carry another's request to the same host name, which
// that instance may not reach.
func newTransport(skipVerify bool, targets Targets) *http.Transport {
	dialer := targets.dialer()
	dialer.KeepAlive = 30 * time.Second
	return &http.Transport{
		DialContext:            dialer.DialContext,
		DisableKeepAlives:      targets.instance,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        20 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		// Only the body's first bytes are shown, as sent; asking for
		// gzip would spend CPU inflating bodies nobody reads.
		DisableCompression: true,
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: skipVerify}, //nolint:gosec // only for checks that ask for it
	}
}
