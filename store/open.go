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
		for _, name := range [][]byte{bucketHistory, bucketHistoryGone} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
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
