package store

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// EtcdOptions configure the etcd backend. Zero fields take the defaults
// their comments name.
type EtcdOptions struct {
	// Endpoints are the etcd members, host:port each; required.
	Endpoints []string
	// Prefix is where the registry lives in etcd; default "/beacon".
	Prefix string
	// TLS secures the connections to etcd; nil for plain gRPC.
	TLS *tls.Config
	// Timeout bounds a write: one etcd has not committed by then fails
	// with ErrUnavailable; default 5s.
	Timeout time.Duration
	// ProbeInterval is how often the store asks etcd whether it is still
	// there; default 1s. Without an answer for StaleAfter the store is
	// stale.
	ProbeInterval time.Duration
	// StaleAfter is how long without a word from etcd makes the store
	// stale; default 3s.
	StaleAfter time.Duration
	// NodeTTL is the TTL of this node's membership lease, rounded up to
	// whole seconds: a node etcd has not heard from for that long is no
	// longer a member; default 10s.
	NodeTTL time.Duration
	// HTTPAddr is where this node's HTTP API can be reached, shown to
	// the other nodes.
	HTTPAddr string
	// Settle is how long a member that joined waits before it is given
	// checks, so that a node flapping in and out does not move them each
	// time; default 2s.
	Settle time.Duration
}

func (o *EtcdOptions) fill() {
	if o.Prefix == "" {
		o.Prefix = "/beacon"
	}
	o.Prefix = strings.TrimRight(o.Prefix, "/")
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = time.Second
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 3 * time.Second
	}
	if o.NodeTTL <= 0 {
		o.NodeTTL = 10 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 2 * time.Second
	}
}

// pageSize bounds the keys one Get of a load returns: 5,000 records of a
// few hundred bytes make a response of a few MiB, far below the client's
// limit, in a fifth of the round trips 1,000 would take.
const pageSize = 5000

// etcdStore keeps the registry in etcd. Writes are guarded etcd
// transactions built from the same txn code the BoltDB committer runs;
// the snapshots every reader sees are built only from etcd's watch, so a
// node serves exactly what etcd holds, as of the revision it has applied.
type etcdStore struct {
	s      *Store
	opts   EtcdOptions
	cli    *clientv3.Client
	prefix string // with the trailing '/'
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// mu serialises publishing: the watch loop and the local heartbeat
	// refresh. It also guards Store.reapable, which the BoltDB committer
	// owns alone.
	mu sync.Mutex

	// applied is the highest revision whose events are in the published
	// snapshot; seen also counts progress notifications, which say that
	// nothing up to their revision is left to come.
	revMu   sync.Mutex
	applied int64
	seen    int64
	waiters []*waiter

	loaded   chan struct{}
	contact  atomic.Int64 // unix nanoseconds of the last answer from etcd
	progress chan struct{}

	// Membership: joined is closed once the node first holds its key,
	// or was refused (refused is then set, before). lease is the ID of
	// the lease the key is under, 0 while it holds none. members are
	// the live nodes, by name, written under mu.
	wg      sync.WaitGroup
	joined  chan struct{}
	refused error
	lease   atomic.Int64
	renewed atomic.Int64 // unix nanoseconds of etcd's last renewal of lease
	members atomic.Pointer[[]Member]
	// since is when this node first saw each live member, under mu; own
	// is the current Ownership, replaced under mu.
	since map[string]time.Time
	own   atomic.Pointer[Ownership]

	txnSeconds prometheus.Histogram
}

// OpenEtcd opens the registry kept in etcd. It returns at once with an
// empty registry and loads it in the background: Loaded is closed and
// Healthy turns nil after the first full load. Writes before then fail
// with ErrUnavailable.
func OpenEtcd(opts Options, eo EtcdOptions) (*Store, error) {
	opts.fill()
	eo.fill()
	if len(eo.Endpoints) == 0 {
		return nil, invalid("store", "etcd needs at least one endpoint")
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: eo.Endpoints, TLS: eo.TLS,
		DialTimeout:       eo.Timeout,
		DialKeepAliveTime: 2 * time.Second, DialKeepAliveTimeout: 2 * time.Second,
		PermitWithoutStream: true,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd at %s: %w", strings.Join(eo.Endpoints, ","), err)
	}
	s := &Store{
		opts: opts, path: "etcd://" + strings.Join(eo.Endpoints, ",") + eo.Prefix,
		quit: make(chan struct{}), stopped: make(chan struct{}),
		subs: map[*Subscription]struct{}{}, lazy: map[string]struct{}{}, reapable: map[string]struct{}{},
		metrics: newMetrics(opts.Registerer),
		started: opts.Clock.Now(),
	}
	node := Node{Name: opts.NodeName, Datacenter: opts.Datacenter, Address: opts.Advertise, ID: nameUUID(eo.Prefix, opts.NodeName)}
	s.snap.Store(&Snapshot{index: 1, node: node, done: make(chan struct{}),
		catalog: &catalogView{index: 1, done: make(chan struct{})}})
	ctx, cancel := context.WithCancel(context.Background())
	e := &etcdStore{
		s: s, opts: eo, cli: cli, prefix: eo.Prefix + "/", ctx: ctx, cancel: cancel,
		done: make(chan struct{}), loaded: make(chan struct{}),
		progress: make(chan struct{}, 1),
		joined:   make(chan struct{}),
	}
	e.members.Store(&[]Member{})
	e.since = map[string]time.Time{}
	e.own.Store(&Ownership{self: opts.NodeName, changed: make(chan struct{})})
	e.contact.Store(time.Now().UnixNano())
	e.registerMetrics(opts.Registerer)
	s.remote = e
	close(s.stopped)
	e.wg.Add(2)
	go e.holdMembership()
	go e.watchLease()
	go e.run()
	return s, nil
}

// nameUUID derives a stable node ID from the node's name, as the BoltDB
// backend keeps one in its file: a restarted node keeps its ID.
func nameUUID(prefix, name string) string {
	b := sha256.Sum256([]byte(prefix + "\x00" + name))
	b[6] = b[6]&0x0f | 0x50 // name-based
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (e *etcdStore) registerMetrics(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	f := promauto.With(reg)
	e.txnSeconds = f.NewHistogram(prometheus.HistogramOpts{
		Namespace: "beacon", Subsystem: "store", Name: "etcd_txn_duration_seconds",
		Help:    "Time etcd took to answer one write transaction.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "beacon", Subsystem: "store", Name: "stale_seconds",
		Help: "Seconds since etcd last answered, once that is longer than the stale threshold; 0 while fresh.",
	}, func() float64 { return e.staleFor().Seconds() })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "beacon", Subsystem: "store", Name: "etcd_revision",
		Help: "The etcd revision this node's registry has applied.",
	}, func() float64 { return float64(e.appliedRev()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "beacon", Subsystem: "cluster", Name: "members",
		Help: "Live beacon nodes sharing this registry in etcd, as this node last saw them.",
	}, func() float64 { return float64(len(*e.members.Load())) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "beacon", Name: "checks_owned",
		Help: "HTTP and TCP checks this node runs, of those in the registry.",
	}, func() float64 { return float64(ownedChecks(e.s.Snapshot(), e.own.Load())) })
}

// ownedChecks counts the HTTP and TCP checks in snap that own gives this
// node.
func ownedChecks(snap *Snapshot, own *Ownership) int {
	n := 0
	for _, in := range snap.Instances() {
		if !own.Owns(in.ID) {
			continue
		}
		for _, c := range in.Checks {
			if c.Kind == KindHTTP || c.Kind == KindTCP {
				n++
			}
		}
	}
	return n
}

// Loaded is closed once the registry was first loaded. With BoltDB it is
// closed from the start.
func (s *Store) Loaded() <-chan struct{} {
	if s.remote != nil {
		return s.remote.loaded
	}
	c := make(chan struct{})
	close(c)
	return c
}

// Stale reports whether this node has lost touch with etcd, so that what
// it serves may be behind; always false with BoltDB.
func (s *Store) Stale() bool { return s.remote != nil && s.remote.staleFor() > 0 }

func (e *etcdStore) healthy() error {
	select {
	case <-e.loaded:
		return e.refused
	default:
		return fmt.Errorf("registry %w from etcd at %s yet", ErrNotLoaded, e.endpoints())
	}
}

func (e *etcdStore) endpoints() string { return strings.Join(e.opts.Endpoints, ",") }

// touch records an answer from etcd.
func (e *etcdStore) touch() { e.contact.Store(time.Now().UnixNano()) }

// staleFor is how long etcd has been silent, or 0 while that is within
// StaleAfter.
func (e *etcdStore) staleFor() time.Duration {
	d := time.Since(time.Unix(0, e.contact.Load()))
	if d <= e.opts.StaleAfter {
		return 0
	}
	return d
}

func (e *etcdStore) close() error {
	lease := e.lease.Load()
	e.cancel()
	<-e.done
	e.wg.Wait()
	e.leave(clientv3.LeaseID(lease))
	return e.cli.Close()
}

// unavailable turns a failed etcd call into the one-line error a client
// sees (503 from the API).
func (e *etcdStore) unavailable(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: etcd at %s did not answer within %s: %w", what, e.endpoints(), e.opts.Timeout, ErrUnavailable)
	}
	if e.ctx.Err() != nil {
		return ErrClosed
	}
	return fmt.Errorf("%s: etcd at %s: %s: %w", what, e.endpoints(), oneLine(err), ErrUnavailable)
}

// do runs op against the current snapshot and writes what it changed to
// etcd in one transaction guarded by the revisions of every key it read.
// It answers once the write is in this node's snapshot (read your own
// writes). When another writer got there first, it waits until this node
// has seen that write and runs op again on the result.
func (e *etcdStore) do(op func(*txn) error) error { return e.write(op, 0) }

// doFenced is do for a health check's result: the transaction also
// requires this node's membership key to be still under this node's
// lease, so a node whose lease expired (and whose checks others run by
// now) writes nothing.
func (e *etcdStore) doFenced(op func(*txn) error) error {
	lease := e.lease.Load()
	if lease == 0 || e.quiet() {
		return fmt.Errorf("check result not written: %w", ErrNotMember)
	}
	return e.write(op, lease)
}

// write is do, fenced by lease unless that is 0.
func (e *etcdStore) write(op func(*txn) error, lease int64) error {
	select {
	case <-e.s.quit:
		return ErrClosed
	case <-e.loaded:
		if e.refused != nil {
			return fmt.Errorf("write refused: %w", e.refused)
		}
	default:
		return fmt.Errorf("write refused: %w", e.healthy())
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.opts.Timeout)
	defer cancel()
	for {
		t := newTxn(e.s.snap.Load(), e.s.opts.Clock.Now())
		if err := runOp(op, t); err != nil {
			return err
		}
		if !t.changed() {
			return nil
		}
		p, err := e.plan(t)
		if err != nil {
			return err
		}
		if len(p.ops) == 0 {
			if !p.local || e.refresh(op) {
				return nil
			}
			continue
		}
		if err := e.planHistory(ctx, &p, t); err != nil {
			return err
		}
		var orElse []clientv3.Op
		if lease != 0 {
			self := e.prefix + memberKey(e.s.opts.NodeName)
			p.cmps = append(p.cmps, clientv3.Compare(clientv3.LeaseValue(self), "=", lease))
			orElse = append(orElse, clientv3.OpGet(self))
		}
		start := time.Now()
		resp, err := e.cli.Txn(ctx).If(p.cmps...).Then(p.ops...).Else(orElse...).Commit()
		if e.txnSeconds != nil {
			e.txnSeconds.Observe(time.Since(start).Seconds())
		}
		if err != nil {
			return e.unavailable("write not committed", err)
		}
		e.touch()
		rev := resp.Header.Revision
		if resp.Succeeded {
			return e.waitApplied(ctx, rev)
		}
		if lease != 0 {
			kvs := resp.Responses[0].GetResponseRange().GetKvs()
			if len(kvs) == 0 || kvs[0].Lease != lease {
				return fmt.Errorf("check result not written: this node's lease %x is no longer its membership's: %w", lease, ErrNotMember)
			}
		}
		if err := e.waitSeen(ctx, rev); err != nil {
			return err
		}
	}
}

// refresh applies a change that etcd need not hear of (a TTL heartbeat
// within half its TTL of the one etcd holds) to this node's snapshot. It
// reports false when the registry moved and op must go through etcd.
func (e *etcdStore) refresh(op func(*txn) error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := newTxn(e.s.snap.Load(), e.s.opts.Clock.Now())
	if runOp(op, t) != nil || !t.changed() {
		return true
	}
	if p, err := e.plan(t); err != nil || len(p.ops) > 0 {
		return false
	}
	e.s.publish(t)
	return true
}

// applyAsync runs writes queued by the expiry of critical instances, each
// on its own, without waiting: the caller holds mu, which the watch loop
// needs to apply them.
func (e *etcdStore) applyAsync(batch []*request) {
	for _, r := range batch {
		go func() {
			r.err = e.do(r.op)
			if r.err != nil && !errors.Is(r.err, ErrClosed) {
				e.s.opts.Logger.Warn("expiry write failed; will retry", "err", r.err)
			}
			close(r.done)
		}()
	}
}
