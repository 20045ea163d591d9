package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

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
		started: opts.Clock.Now(),
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
			db, err = nil, damaged(path, "opening it failed: %v", p)
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
		return nil, damaged(path, "%v", err)
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
			return damaged(path, "truncated to %d bytes, its pages need %d", fi.Size(), tx.Size())
		}
		return nil
	})
}

// load reads and checks everything into the first snapshot. The first
// index is one past the persisted one: after a clean Close that is the
// exact last index, after a crash the ceiling that every index handed out
// stayed below. No index above it is handed out before a commit raises
// the ceiling (see commit), so none is ever handed out twice.
func (s *Store) load() (err error) {
	// A damaged page can make bbolt read outside the mapping; as a panic
	// that becomes the ErrCorrupt below rather than a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = damaged(s.path, "reading it failed: %v", p)
		}
	}()
	var c *contents
	err = s.db.View(func(tx *bolt.Tx) error {
		if err := walkPages(tx, s.path); err != nil {
			return err
		}
		if c, err = readFile(tx, s.path, s.started); err != nil {
			return err
		}
		return checkPages(tx, s.path)
	})
	if err != nil {
		return err
	}
	if c.schema < SchemaVersion || c.nodeID == "" {
		if c.nodeID, err = s.upgrade(c); err != nil {
			return fmt.Errorf("initialise %s: %w", s.path, err)
		}
	}
	node := Node{ID: c.nodeID, Name: s.opts.NodeName, Datacenter: s.opts.Datacenter, Address: s.opts.Advertise}
	s.ceiling = c.index
	s.snap.Store(s.initial(node, c.index+1, s.started, c.ins))
	return nil
}

// upgrade brings a new file or one of an older schema to the current
// one: buckets, schema version, node ID and the digest of its records,
// recomputed by readFile. It returns the node ID.
func (s *Store) upgrade(c *contents) (id string, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketInstances, bucketHistory, bucketHistoryGone} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		w := &writer{tx: tx, d: c.digest}
		if err := w.put(bucketMeta, keySchema, u64(SchemaVersion)); err != nil {
			return err
		}
		if id = c.nodeID; id == "" {
			if id, err = newNodeID(); err != nil {
				return err
			}
			if err := w.put(bucketMeta, keyNodeID, []byte(id)); err != nil {
				return err
			}
		}
		return w.finish()
	})
	return id, err
}

// newNodeID returns a random (version 4) UUID.
func newNodeID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
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
