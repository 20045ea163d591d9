package store

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
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
	// Clock reads the time and runs the store's timers (the flush of
	// status changes, the expiry of instances critical too long); default
	// the system clock. Tests inject a fake one.
	Clock Clock
	// Now, when Clock is nil, replaces the system clock's reading of the
	// time while its timers keep real time; default time.Now.
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
	if o.Clock == nil {
		o.Clock = systemClock{now: o.Now}
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
	// remote is the etcd backend, nil with BoltDB; see OpenEtcd.
	remote *etcdStore

	subMu sync.Mutex
	subs  map[*Subscription]struct{}

	// hist holds health transitions published but not yet on disk; the
	// committer changes it, History reads it.
	histMu sync.Mutex
	hist   []histEntry

	// halted is set once writes stop (see failstop.go); dbStuck when bbolt
	// kept its write lock after a panic, so the file cannot be closed.
	halted  atomic.Pointer[writesStopped]
	dbStuck atomic.Bool

	// Owned by the committer goroutine.
	ceiling  uint64
	lazy     map[string]struct{}
	reapable map[string]struct{}
	// reapAt is when the reaper should next look; zero for never.
	reapAt time.Time
	// started is when Open began; critical time counts from it.
	started time.Time
}

type request struct {
	durable bool
	op      func(*txn) error
	err     error
	done    chan struct{}
}

// Snapshot returns the current snapshot. It never blocks.
func (s *Store) Snapshot() *Snapshot { return s.snap.Load() }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Healthy reports ErrClosed once the store is closed, an error wrapping
// ErrWritesStopped once it stopped taking writes and, on etcd,
// ErrNotLoaded until the registry was first loaded.
func (s *Store) Healthy() error {
	select {
	case <-s.quit:
		return ErrClosed
	default:
	}
	if s.remote != nil {
		return s.remote.healthy()
	}
	return s.stoppedErr()
}

// Close flushes pending status changes and closes the database. Writes
// after Close fail with ErrClosed.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.quit)
		<-s.stopped
		if s.remote != nil {
			err = s.remote.close()
			return
		}
		if s.dbStuck.Load() {
			err = fmt.Errorf("close %s: bbolt kept its write lock after failing inside a write; the file is released when beacon exits", s.path)
			return
		}
		err = s.db.Close()
	})
	return err
}
