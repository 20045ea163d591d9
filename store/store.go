package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options configure a Store. Zero fields take the defaults their comments
// name; fill applies them.
type Options struct {
	// Dir is the data directory, created if missing; default "./data".
	Dir string
	// NodeName names this node; default the host name.
	NodeName string
	// Datacenter names this node's datacenter; default "dc1".
	Datacenter string
	// Advertise is the address of instances registered without one;
	// default "127.0.0.1".
	Advertise string
	// LockTimeout bounds the wait for another process's lock on the
	// database; default 2s.
	LockTimeout time.Duration
	// FlushInterval bounds how long a status change waits to reach disk;
	// default 1s.
	FlushInterval time.Duration
	// Now returns the time; default time.Now. Tests inject their own.
	Now func() time.Time
	// Logger receives the store's logs; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the store's metrics; nil registers none.
	Registerer prometheus.Registerer
}

func (o *Options) fill() {
	if o.Dir == "" {
		o.Dir = "./data"
	}
	if o.NodeName == "" {
		o.NodeName, _ = os.Hostname()
	}
	if o.NodeName == "" {
		o.NodeName = "beacon"
	}
	if o.Datacenter == "" {
		o.Datacenter = "dc1"
	}
	if o.Advertise == "" {
		o.Advertise = "127.0.0.1"
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// ceilingStep is how far ahead of the change index the persisted ceiling
// runs; see reserve.
const ceilingStep = 4096

// maxGather bounds how many queued writes share one commit.
const maxGather = 512

// Store is the registry. It is safe for concurrent use.
type Store struct {
	opts    Options
	db      *bolt.DB
	path    string
	snap    atomic.Pointer[Snapshot]
	reqs    chan *request
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
	metrics *metrics

	subMu sync.Mutex
	subs  map[*Subscription]struct{}

	// Owned by the committer goroutine.
	ceiling  uint64
	lazy     map[string]struct{}
	reapable map[string]struct{}
}

type request struct {
	durable bool
	op      func(*txn) error
	err     error
	done    chan struct{}
}

// Open opens (or creates) <Dir>/beacon.db, loads the registry into memory
// and starts the committer.
func Open(opts Options) (*Store, error) {
	opts.fill()
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", opts.Dir, err)
	}
	path := filepath.Join(opts.Dir, "beacon.db")
	db, err := openDB(opts.Dir, path, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	s := &Store{
		opts: opts, db: db, path: path,
		reqs: make(chan *request), quit: make(chan struct{}), stopped: make(chan struct{}),
		subs: map[*Subscription]struct{}{}, lazy: map[string]struct{}{}, reapable: map[string]struct{}{},
		metrics: newMetrics(opts.Registerer),
	}
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	go s.run()
	return s, nil
}

// openDB opens the bolt file, turning its failures into errors that say
// what to do. bbolt can panic on some damaged files; that becomes an error.
func openDB(dir, path string, timeout time.Duration) (db *bolt.DB, err error) {
	// Opening reads the freelist page, which a truncated file may lack;
	// the fault must become the panic recovered below, not a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("open %s: %w (%v)", path, ErrCorrupt, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	switch {
	case err == nil:
		if err := checkSize(db, path); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("data dir %s is %w: the lock on %s was not released within %s", dir, ErrLocked, path, timeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrDatabaseNotOpen):
		return nil, fmt.Errorf("open %s: %w (%v); move it away to start empty", path, ErrCorrupt, err)
	}
	return nil, fmt.Errorf("open %s: %w", path, err)
}

// checkSize refuses a file shorter than the pages its meta page claims:
// reading them would fault past the end of the mapping, which no recover
// can catch.
func checkSize(db *bolt.DB, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error {
		if fi.Size() < tx.Size() {
			return fmt.Errorf("open %s: %w: truncated to %d bytes, the database needs %d; move it away to start empty",
				path, ErrCorrupt, fi.Size(), tx.Size())
		}
		return nil
	})
}

// load reads everything into the first snapshot. The first index is one
// past the persisted ceiling, so no index is ever handed out twice, even
// after a crash lost status changes not yet flushed.
func (s *Store) load() (err error) {
	// A damaged page can make bbolt read outside the mapping; as a panic
	// that becomes the ErrCorrupt below rather than a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("load %s: %w (%v)", s.path, ErrCorrupt, p)
		}
	}()
	now := s.opts.Now()
	var ins []*Instance
	node := Node{Name: s.opts.NodeName, Datacenter: s.opts.Datacenter, Address: s.opts.Advertise}
	var index uint64
	err = s.db.Update(func(tx *bolt.Tx) error {
		ins, index, node.ID = nil, 0, ""
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keySchema); v != nil && readU64(v) > SchemaVersion {
			return fmt.Errorf("%s has schema version %d, but this beacon reads only up to %d: %w; run a newer beacon",
				s.path, readU64(v), SchemaVersion, ErrSchemaNewer)
		}
		if err := meta.Put(keySchema, u64(SchemaVersion)); err != nil {
			return err
		}
		index = readU64(meta.Get(keyIndex)) + 1
		s.ceiling = index + ceilingStep
		if err := meta.Put(keyIndex, u64(s.ceiling)); err != nil {
			return err
		}
		if node.ID, err = nodeID(meta); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bucketInstances)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			in, err := decodeInstance(v, now)
			if err != nil {
				return fmt.Errorf("%s: record %q: %w (%v)", s.path, k, ErrCorrupt, err)
			}
			ins = append(ins, in)
			return nil
		})
	})
	if err != nil {
		return err
	}
	s.snap.Store(s.initial(node, index, now, ins))
	return nil
}

func nodeID(meta *bolt.Bucket) (string, error) {
	if v := meta.Get(keyNodeID); len(v) > 0 {
		return string(v), nil
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	return id, meta.Put(keyNodeID, []byte(id))
}

// initial builds the first snapshot from the loaded instances.
func (s *Store) initial(node Node, index uint64, now time.Time, ins []*Instance) *Snapshot {
	empty := &Snapshot{index: index, node: node, done: make(chan struct{}),
		catalog: &catalogView{index: index, done: make(chan struct{})}}
	t := newTxn(empty, now)
	for _, in := range ins {
		t.put(nil, in, false, true)
	}
	snap, _ := t.snapshot()
	for _, ev := range t.events {
		s.track(ev.New)
	}
	return snap
}

// Snapshot returns the current snapshot. It never blocks.
func (s *Store) Snapshot() *Snapshot { return s.snap.Load() }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Healthy reports ErrClosed once the store is closed.
func (s *Store) Healthy() error {
	select {
	case <-s.quit:
		return ErrClosed
	default:
		return nil
	}
}

// Close flushes pending status changes and closes the database. Writes
// after Close fail with ErrClosed.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.quit)
		<-s.stopped
		err = s.db.Close()
	})
	return err
}

// do queues op for the committer and waits until it is published (and,
// when durable, committed to disk).
func (s *Store) do(durable bool, op func(*txn) error) error {
	r := &request{durable: durable, op: op, done: make(chan struct{})}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return ErrClosed
	}
	<-r.done
	return r.err
}

// run is the committer: the one goroutine that changes the registry.
func (s *Store) run() {
	defer close(s.stopped)
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	armed := false
	reap := time.NewTicker(250 * time.Millisecond)
	defer reap.Stop()
	for {
		select {
		case r := <-s.reqs:
			s.apply(s.gather(r))
		case <-flush.C:
			armed = false
			s.flushLazy()
		case <-reap.C:
			s.reap()
		case <-s.quit:
			s.flushLazy()
			return
		}
		if len(s.lazy) > 0 && !armed {
			flush.Reset(s.opts.FlushInterval)
			armed = true
		}
	}
}

// gather takes r and every write already waiting behind it, so that all
// of them share one commit.
func (s *Store) gather(r *request) []*request {
	batch := []*request{r}
	for len(batch) < maxGather {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// apply runs a batch of writes on one txn, commits it when any write needs
// durability (or the index ceiling must move), then publishes. If the
// commit fails, nothing of the batch is published and every write in it
// fails: memory and disk stay as they were.
func (s *Store) apply(batch []*request) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	t := newTxn(s.snap.Load(), s.opts.Now())
	durable := false
	for _, r := range batch {
		if err := runOp(r.op, t); err != nil {
			if errors.Is(err, errPanic) {
				failAll(batch, err)
				return
			}
			r.err = err
			continue
		}
		durable = durable || r.durable
	}
	if !t.changed() {
		return
	}
	if durable || t.index > s.ceiling {
		if err := s.commit(t); err != nil {
			s.opts.Logger.Error("commit failed", "path", s.path, "err", err)
			failAll(batch, err)
			return
		}
	} else {
		for id := range t.lazy {
			s.lazy[id] = struct{}{}
		}
	}
	s.publish(t)
}

var errPanic = errors.New("internal error")

func runOp(op func(*txn) error, t *txn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	return op(t)
}

func failAll(batch []*request, err error) {
	for _, r := range batch {
		if r.err == nil {
			r.err = err
		}
	}
}

// commit writes every instance the txn changed, plus those with status
// changes still waiting for a flush, in one bolt transaction.
func (s *Store) commit(t *txn) error {
	start := time.Now()
	ceiling := s.ceiling
	if t.index > ceiling {
		ceiling = t.index + ceilingStep
	}
	ids := make(map[string]struct{}, len(t.durable)+len(t.lazy)+len(s.lazy))
	for _, m := range []map[string]struct{}{t.durable, t.lazy, s.lazy} {
		for id := range m {
			ids[id] = struct{}{}
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := writeInstances(tx, ids, t.instance); err != nil {
			return err
		}
		if ceiling != s.ceiling {
			return tx.Bucket(bucketMeta).Put(keyIndex, u64(ceiling))
		}
		return nil
	})
	s.metrics.commit(time.Since(start))
	if err != nil {
		return fmt.Errorf("commit to %s: %w", s.path, err)
	}
	s.ceiling = ceiling
	clear(s.lazy)
	return nil
}

// writeInstances puts the current record of each ID, or deletes it.
func writeInstances(tx *bolt.Tx, ids map[string]struct{}, get func(string) *Instance) error {
	b := tx.Bucket(bucketInstances)
	for id := range ids {
		in := get(id)
		if in == nil {
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
			continue
		}
		v, err := encodeInstance(in)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(id), v); err != nil {
			return err
		}
	}
	return nil
}

// flushLazy writes status changes that have waited for a batch.
func (s *Store) flushLazy() {
	if len(s.lazy) == 0 {
		return
	}
	snap := s.snap.Load()
	start := time.Now()
	err := s.db.Update(func(tx *bolt.Tx) error { return writeInstances(tx, s.lazy, snap.Instance) })
	s.metrics.commit(time.Since(start))
	if err != nil {
		s.opts.Logger.Error("flushing status changes failed; will retry", "path", s.path, "err", err)
		return
	}
	clear(s.lazy)
}

// publish makes the txn's snapshot current, wakes whoever waits on what
// changed, and feeds subscribers.
func (s *Store) publish(t *txn) {
	snap, closers := t.snapshot()
	s.snap.Store(snap)
	for _, c := range closers {
		close(c)
	}
	for _, ev := range t.events {
		if ev.Old != nil {
			s.untrack(ev.Old)
		}
		if ev.New != nil {
			s.track(ev.New)
		}
	}
	s.notify(t.events)
}
