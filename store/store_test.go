package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"

	bolt "go.etcd.io/bbolt"
)

func TestPersistAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	clk := testkit.NewClock()
	s := openTest(t, dir, clk)
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Address: "10.0.0.5", Port: 8080, Tags: []string{"v1"},
		Meta: map[string]string{"k": "v"}, Weights: &Weights{Passing: 5, Warning: 2},
		Checks: []CheckSpec{{TTL: time.Minute, Status: Passing}, {ID: "h", HTTP: "http://10.0.0.5/", Interval: 2 * time.Second}}})
	mustRegister(t, s, Registration{ID: "gone", Name: "web"})
	if err := s.Deregister("gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckStatus("h", Warning, "slow"); err != nil {
		t.Fatal(err)
	}
	idx := s.Snapshot().Index()
	nodeID := s.Snapshot().Node().ID
	closeChecked(t, s)

	clk.Advance(time.Hour)
	s2 := openTest(t, dir, clk)
	snap := s2.Snapshot()
	if snap.Index() <= idx {
		t.Errorf("index after reopen %d, want > %d", snap.Index(), idx)
	}
	if snap.Node().ID != nodeID || len(nodeID) != 36 {
		t.Errorf("node ID %q after reopen, want stable UUID %q", snap.Node().ID, nodeID)
	}
	if snap.Instance("gone") != nil {
		t.Error("deregistered instance came back")
	}
	in := snap.Instance("web1")
	if in == nil {
		t.Fatal("web1 lost across reopen")
	}
	if in.Address != "10.0.0.5" || in.Port != 8080 || in.Tags[0] != "v1" || in.Meta["k"] != "v" || in.Weights != (Weights{5, 2}) {
		t.Errorf("web1 changed across reopen: %+v", in)
	}
	h, _ := snap.Check("h")
	if h == nil || h.Status != Warning || h.Output != "slow" {
		t.Errorf("status of h lost across reopen: %+v", h)
	}
	if in.Health != Warning {
		t.Errorf("health %s, want warning", in.Health)
	}
	ttl, _ := snap.Check("service:web1:1")
	if ttl == nil || !ttl.Heartbeat.Equal(clk.Now()) {
		t.Errorf("TTL check did not get a fresh heartbeat: %+v", ttl)
	}
	if svc := snap.Service("web"); svc == nil || len(svc.Instances) != 1 {
		t.Errorf("service web not rebuilt: %+v", svc)
	}
}

func TestIndexMonotonicAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	var last uint64
	for round := 0; round < 4; round++ {
		s := openTest(t, dir, nil)
		if got := s.Snapshot().Index(); got <= last || got < 1 {
			t.Fatalf("round %d: index %d after reopen, want > %d", round, got, last)
		}
		for i := 0; i < 5; i++ {
			id := fmt.Sprintf("r%d-w%d", round, i)
			mustRegister(t, s, Registration{Name: "web", ID: id, Checks: []CheckSpec{{TTL: time.Minute}}})
			prev := s.Snapshot().Index()
			if err := s.UpdateTTL("service:"+id, Passing, "ok"); err != nil {
				t.Fatal(err)
			}
			if got := s.Snapshot().Index(); got <= prev {
				t.Fatalf("status change did not advance index: %d → %d", prev, got)
			}
		}
		last = s.Snapshot().Index()
		// Simulate a crash: close the file under the committer so status
		// changes are never flushed; the index must still not go backwards.
		crash(s)
	}
}

// TestCleanRestartKeepsIndex checks that a clean restart moves the
// change index by one, while after a crash it may jump (to the persisted
// ceiling) but never goes back.
func TestCleanRestartKeepsIndex(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	mustRegister(t, s, Registration{ID: "w", Name: "web", Checks: []CheckSpec{{TTL: time.Minute}}})
	idx := s.Snapshot().Index()
	for round := 0; round < 3; round++ {
		closeChecked(t, s)
		s = openTest(t, dir, nil)
		if got := s.Snapshot().Index(); got != idx+1 {
			t.Fatalf("clean restart %d: index %d → %d, want %d", round, idx, got, idx+1)
		}
		idx = s.Snapshot().Index()
	}
	if err := s.UpdateTTL("service:w", Passing, "ok"); err != nil {
		t.Fatal(err)
	}
	idx = s.Snapshot().Index()
	crash(s)
	s = openTest(t, dir, nil)
	if got := s.Snapshot().Index(); got <= idx {
		t.Fatalf("restart after a crash: index %d → %d, want more", idx, got)
	}
	idx = s.Snapshot().Index()
	closeChecked(t, s)
	if got := openTest(t, dir, nil).Snapshot().Index(); got != idx+1 {
		t.Fatalf("clean restart after a crash: index %d → %d, want %d", idx, got, idx+1)
	}
}

func TestConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.Register(Registration{ID: id, Name: fmt.Sprintf("svc%d", w%4), Port: i}); err != nil {
					errs <- err
					return
				}
				if i%2 == 1 {
					if err := s.Deregister(id); err != nil {
						errs <- err
						return
					}
				}
				_ = s.Snapshot().Services()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check := func(s *Store) {
		snap := s.Snapshot()
		if n := snap.InstanceCount(); n != 160 {
			t.Fatalf("%d instances, want 160", n)
		}
		total := 0
		for _, svc := range snap.Services() {
			total += len(svc.Instances)
		}
		if total != 160 {
			t.Fatalf("services hold %d instances, want 160", total)
		}
	}
	check(s)
	closeChecked(t, s)
	check(openTest(t, dir, nil))
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, nil)
	start := time.Now()
	_, err := Open(Options{Dir: dir, LockTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "locked by another beacon") || !strings.Contains(err.Error(), "beacon.db") {
		t.Errorf("message does not name the lock: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second open took %s", d)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	closeChecked(t, s)
	db, err := bolt.Open(filepath.Join(dir, "beacon.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion+1)) })
	db.Close()
	_, err = Open(Options{Dir: dir})
	if !errors.Is(err, ErrSchemaNewer) || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", SchemaVersion+1)) {
		t.Fatalf("got %v, want ErrSchemaNewer naming the version", err)
	}
}

// TestUpgradeFromSchema1 opens a file as the previous schema wrote it,
// without a digest: it loads, gains a digest, and a damaged record in it is
// found from then on.
func TestUpgradeFromSchema1(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "beacon.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := &Instance{ID: "w", Name: "web", Address: "10.0.0.1", Port: 80, Weights: Weights{1, 1}, CreateIndex: 7, ModifyIndex: 7}
	rec, err := encodeInstance(in)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		b, _ := tx.CreateBucket(bucketInstances)
		for k, v := range map[string][]byte{"schema": u64(1), "index": u64(4100), "node-id": []byte("0e6b1f4a-4a7e-4c1e-9a53-8a4c51c1a001")} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return b.Put([]byte("w"), rec)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir, nil)
	if s.Snapshot().Instance("w") == nil || s.Snapshot().Index() != 4101 || s.Snapshot().Node().ID != "0e6b1f4a-4a7e-4c1e-9a53-8a4c51c1a001" {
		t.Fatalf("schema 1 file loaded as index %d, node %q, instance %v", s.Snapshot().Index(), s.Snapshot().Node().ID, s.Snapshot().Instance("w"))
	}
	closeChecked(t, s)
	if db, err = bolt.Open(path, 0o600, nil); err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if v := readU64(tx.Bucket(bucketMeta).Get(keySchema)); v != SchemaVersion {
			t.Errorf("schema %d after the first open, want %d", v, SchemaVersion)
		}
		return tx.Bucket(bucketInstances).Put([]byte("w"), bytes.Replace(rec, []byte(`"Port":80`), []byte(`"Port":81`), 1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("a changed record after the upgrade: %v, want refused by the digest", err)
	}
}

func TestDamagedDatabase(t *testing.T) {
	cases := map[string]func(path string) error{
		"garbage": func(p string) error { return os.WriteFile(p, []byte(strings.Repeat("not a database ", 1000)), 0o600) },
		"truncated": func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:100], 0o600)
		},
		"cut after the meta pages": func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:16<<10], 0o600)
		},
		"cut in the middle": func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:len(b)/2], 0o600)
		},
		"bad record": func(p string) error {
			db, err := bolt.Open(p, 0o600, nil)
			if err != nil {
				return err
			}
			defer db.Close()
			return db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketInstances).Put([]byte("x"), []byte("{")) })
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir, nil)
			for i := 0; i < 200; i++ {
				mustRegister(t, s, Registration{Name: "web", ID: fmt.Sprintf("web-%d", i), Tags: []string{strings.Repeat("t", 200)}})
			}
			closeChecked(t, s)
			if err := damage(filepath.Join(dir, "beacon.db")); err != nil {
				t.Fatal(err)
			}
			_, err := Open(Options{Dir: dir, LockTimeout: time.Second})
			if err == nil {
				t.Fatal("damaged database opened without error")
			}
			if !strings.Contains(err.Error(), "beacon.db") {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestStatusFlushedWithoutClose(t *testing.T) {
	dir := t.TempDir()
	clk := testkit.NewClock()
	s := openTest(t, dir, clk)
	mustRegister(t, s, Registration{ID: "w", Name: "web", Checks: []CheckSpec{{TTL: time.Minute}}})
	if err := s.UpdateTTL("service:w", Warning, "flushed"); err != nil {
		t.Fatal(err)
	}
	onDisk := func(tx *bolt.Tx) bool {
		in, err := decodeInstance(tx.Bucket(bucketInstances).Get([]byte("w")), clk.Now())
		return err == nil && in.Checks[0].Status == Warning
	}
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("no flush timer armed for a status change")
	}
	if err := s.db.View(func(tx *bolt.Tx) error {
		if onDisk(tx) {
			t.Error("status change on disk before the flush timer fired")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	waitDisk(t, s, "the status change on disk one flush interval later", onDisk)
	crash(s)
	c, _ := openTest(t, dir, clk).Snapshot().Check("service:w")
	if c == nil || c.Status != Warning || c.Output != "flushed" {
		t.Fatalf("status change not on disk after the flush interval: %+v", c)
	}
}
