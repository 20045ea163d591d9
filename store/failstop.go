package store

import (
	"fmt"
	"math"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// A commit that fails after bbolt wrote its meta page (the page that
// alone makes a transaction visible) has an unknown outcome: a failed
// fsync says nothing reliable about what reached the disk, a later
// successful one would make the write durable, and a restart may or may
// not find it. Applying the write in memory, or dropping it, could then
// contradict what the disk holds. So the store stops: it refuses every
// further write, keeps serving the last published snapshot to readers and
// DNS, reports the condition through Healthy, and a restart reloads
// whatever the disk holds (PostgreSQL and etcd draw the same line after a
// failed fsync). A panic inside bbolt during a write stops the store the
// same way. A commit that fails before its meta page was written changed
// nothing anyone can see, and only that failure answers "nothing was
// changed".

// writesStopped is the error of a store that stopped taking writes. It
// wraps the failure that stopped it; first marks the answer to the write
// that failed, whose outcome is unknown.
type writesStopped struct {
	cause error
	first bool
}

func (e *writesStopped) Error() string {
	if e.first {
		return e.cause.Error() + ": the outcome of this write is unknown, and " + ErrWritesStopped.Error() +
			": restart beacon to reload its state from disk"
	}
	return ErrWritesStopped.Error() + " since an earlier write's outcome became unknown (" + e.cause.Error() +
		"): restart beacon to reload its state from disk"
}

func (e *writesStopped) Is(target error) bool { return target == ErrWritesStopped }

func (e *writesStopped) Unwrap() error { return e.cause }

// halt stops the store's writes for cause and returns the answer to the
// write that failed. The first cause is the one reported.
func (s *Store) halt(cause error) error {
	if s.halted.CompareAndSwap(nil, &writesStopped{cause: cause}) {
		s.opts.Logger.Error("writes stopped: the state of the database file is unknown; restart beacon to reload it",
			"path", s.path, "err", cause)
	}
	return &writesStopped{cause: cause, first: true}
}

// stoppedErr returns the error of a store that stopped taking writes, or
// nil.
func (s *Store) stoppedErr() error {
	if e := s.halted.Load(); e != nil {
		return e
	}
	return nil
}

// update runs fn in one bolt write transaction and commits it. A failure
// it returns unwrapped left the file as it was; any other stops the store
// (see above).
func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	var tx *bolt.Tx
	defer func() {
		if p := recover(); p != nil {
			if tx == nil || !rollback(tx) {
				// bbolt may still hold its write lock; closing would
				// wait for it forever.
				s.dbStuck.Store(true)
			}
			err = s.halt(fmt.Errorf("bbolt failed inside a write to %s (%s), so the file may be damaged", s.path, oneLine(p)))
		}
	}()
	tx, err = s.db.Begin(true)
	if err != nil {
		return err
	}
	id := tx.ID()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		switch visible := s.visibleTxID(); {
		case visible < id:
			return err
		case visible == math.MaxInt:
			return s.halt(fmt.Errorf("commit to %s failed, and whether its meta page was written cannot be told: %w", s.path, err))
		}
		return s.halt(fmt.Errorf("commit to %s failed after its meta page was written: %w", s.path, err))
	}
	return nil
}

// visibleTxID is the transaction the file's valid meta page names now:
// the one a restart would load, unless the disk lost what it was given.
// It answers math.MaxInt when it cannot tell.
func (s *Store) visibleTxID() (id int) {
	defer func() {
		if recover() != nil {
			// bbolt may still hold its mapping's lock for this reader.
			s.dbStuck.Store(true)
			id = math.MaxInt
		}
	}()
	tx, err := s.db.Begin(false)
	if err != nil {
		return math.MaxInt
	}
	defer func() { _ = tx.Rollback() }()
	return tx.ID()
}

// rollback ends a write transaction that panicked, and reports whether
// bbolt let go of its write lock.
func rollback(tx *bolt.Tx) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_ = tx.Rollback()
	return true
}

// oneLine renders a panic value as one bounded line.
func oneLine(p any) string {
	return cut(strings.Join(strings.Fields(fmt.Sprint(p)), " "), 240)
}
