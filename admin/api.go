// Package admin serves beacon's HTTP API: a Consul-compatible subset for
// registration and discovery, blocking queries, /healthz, /metrics, a
// Prometheus HTTP SD endpoint and a read-only status page at /ui/.
package admin

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-dns/beacon/store"
)

// Store is what the API needs; *store.Store satisfies it.
type Store interface {
	Snapshot() *store.Snapshot
	Register(store.Registration) (*store.Instance, error)
	Deregister(string) error
	RegisterCheck(store.CheckSpec) error
	DeregisterCheck(string) error
	SetMaintenance(string, bool, string) error
	UpdateTTL(string, store.Status, string) error
	Healthy() error
	Historian
}

// Feed is the change feed that API.Run reads to keep the status page's
// list of recent changes; *store.Store satisfies it.
type Feed interface {
	Subscribe() *store.Subscription
}

// Config configures the API. Zero fields take the defaults their comments
// name.
type Config struct {
	// Datacenter is the only datacenter this API answers for; default
	// "dc1". A request with ?dc= naming another one gets 404.
	Datacenter string
	// Token, when set, is required on every call except GET
	// /v1/status/*, /healthz and /metrics; "" means no token is needed.
	Token string
	// Ready reports extra readiness for /healthz (the DNS listeners);
	// nil means none.
	Ready func() error
	// Gatherer is served at /metrics; nil serves an empty registry.
	Gatherer prometheus.Gatherer
	// Registerer receives beacon_api_requests_total{route,code}; nil
	// registers nothing.
	Registerer prometheus.Registerer
	// Logger receives request and error logs; default slog.Default().
	Logger *slog.Logger
	// Logs is the server's log, which GET /v1/agent/monitor follows;
	// nil answers that endpoint 501.
	Logs LogSource
	// Version is beacon's own version, shown in agent/self's Stats;
	// default "unknown".
	Version string
	// Policy is the rule DNS answers with (-only-passing,
	// -panic-threshold, -ttl, -warning-ttl); explain and the UI say
	// what it does with each instance. Zero TTLs take serve's defaults,
	// 30s and 5s; the zero policy has no panic mode.
	Policy store.DNSPolicy
	// Now returns the time; default time.Now.
	Now func() time.Time
}

func (c *Config) fill() {
	if c.Datacenter == "" {
		c.Datacenter = "dc1"
	}
	if c.Gatherer == nil {
		c.Gatherer = prometheus.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Version == "" {
		c.Version = "unknown"
	}
	if c.Policy.TTL == 0 {
		c.Policy.TTL = 30 * time.Second
	}
	if c.Policy.WarningTTL == 0 {
		c.Policy.WarningTTL = 5 * time.Second
	}
}

// API is the HTTP API over one store. Create it with New; it is safe for
// concurrent use.
type API struct {
	cfg     Config
	st      Store
	log     *slog.Logger
	metrics *metrics
	token   *tokenCheck
	recent  *recent
	shared  *sharedBodies
	// agentServicesAll, agentChecksAll, nodeServices and checkLists
	// (by state, "" for any) are the unfiltered reads that cover the
	// whole registry, each encoded once per change.
	agentServicesAll, agentChecksAll, nodeServices *partedAnswer
	checkLists                                     map[store.Status]*partedAnswer
	handler                                        http.Handler
	// nodeIndex versions the node list. The node cannot change while
	// beacon runs, and the store's index at start is above every index
	// of an earlier run, so this never goes backwards.
	nodeIndex uint64
	// wakeups counts blocked queries woken by a change, and parked the
	// queries blocked right now; tests use them to show that unrelated
	// changes wake nobody.
	wakeups, parked counter
}

// New returns the API over st.
func New(cfg Config, st Store) *API {
	cfg.fill()
	a := &API{
		cfg:     cfg,
		st:      st,
		log:     cfg.Logger,
		metrics: newMetrics(cfg.Registerer),
		token:   newTokenCheck(cfg.Token),
		recent:  newRecent(recentSize),
		shared:  newSharedBodies(),

		agentServicesAll: newAgentServices(),
		agentChecksAll:   newAgentChecks(),
		nodeServices:     newNodeServices(),
		checkLists:       map[store.Status]*partedAnswer{},
		nodeIndex:        st.Snapshot().Index(),
	}
	for _, state := range []store.Status{"", store.Passing, store.Warning, store.Critical} {
		a.checkLists[state] = newCheckList(state)
	}
	a.handler = a.routes()
	return a
}

// Handler returns the root handler of every route.
func (a *API) Handler() http.Handler { return a.handler }

var (
	_ Store = (*store.Store)(nil)
	_ Feed  = (*store.Store)(nil)
)
