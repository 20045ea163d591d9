package store

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/beacon-dns/beacon/internal/testkit"
)

func TestHistoryTransitions(t *testing.T) {
	clk := testkit.NewClock()
	s := openTest(t, "", clk)
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Address: "10.0.0.1", Checks: []CheckSpec{
		{ID: "ttl", TTL: time.Minute, Status: Passing},
		{ID: "http", HTTP: "http://10.0.0.1/", Interval: 10 * time.Second, Status: Passing},
	}})
	type step struct {
		name string
		do   func() error
		// want is the newest transition after the step, or nothing new.
		want *Transition
	}
	at := func() time.Time { return clk.Now() }
	steps := []step{
		{"heartbeat changes nothing", func() error { return s.UpdateTTL("ttl", Passing, "") }, nil},
		{"output alone changes nothing", func() error { return s.UpdateTTL("ttl", Passing, "still fine") }, nil},
		{"http fails", func() error { return s.SetCheckStatus("http", Critical, "connection refused") },
			&Transition{From: Passing, To: Critical, CheckID: "http", Output: "connection refused"}},
		{"ttl warns under a critical check: health stays", func() error { return s.UpdateTTL("ttl", Warning, "slow") }, nil},
		{"http recovers, ttl still warns", func() error { return s.SetCheckStatus("http", Passing, "200 OK") },
			&Transition{From: Critical, To: Warning, CheckID: "http", Output: "200 OK"}},
		{"maintenance", func() error { return s.SetMaintenance("web1", true, "kernel upgrade") },
			&Transition{From: Warning, To: Critical, CheckID: MaintenanceCheckPrefix + "web1", Output: "kernel upgrade"}},
		{"maintenance off", func() error { return s.SetMaintenance("web1", false, "") },
			&Transition{From: Critical, To: Warning, CheckID: MaintenanceCheckPrefix + "web1", Output: "maintenance mode disabled"}},
		{"warning check removed", func() error { return s.DeregisterCheck("ttl") },
			&Transition{From: Warning, To: Passing, CheckID: "ttl", Output: "check removed"}},
		{"critical check added", func() error {
			return s.RegisterCheck(CheckSpec{ServiceID: "web1", ID: "tcp", TCP: "10.0.0.1:1", Interval: time.Minute, Output: "not checked yet"})
		}, &Transition{From: Passing, To: Critical, CheckID: "tcp", Output: "not checked yet"}},
	}
	var want []Transition
	for _, st := range steps {
		clk.Advance(time.Second)
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.want != nil {
			tr := *st.want
			tr.Time = at()
			want = append([]Transition{tr}, want...)
		}
		got, err := s.History("web1")
		if err != nil {
			t.Fatalf("%s: History: %v", st.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: history\n got  %v\n want %v", st.name, got, want)
		}
	}
	if h, err := s.History("nope"); !errors.Is(err, ErrNotFound) || h != nil {
		t.Errorf("History of an unknown ID: %v, %v; want ErrNotFound", h, err)
	}
	mustRegister(t, s, Registration{ID: "quiet", Name: "web"})
	if h, err := s.History("quiet"); err != nil || len(h) != 0 {
		t.Errorf("History of an instance without transitions: %v, %v; want none and no error", h, err)
	}
}

// TestHistoryBoundAndRestart flaps an instance past the bound, then
// reads its history back after a clean restart and after a crash: the
// newest HistoryLen transitions, the last ones flushed.
func TestHistoryBoundAndRestart(t *testing.T) {
	dir := t.TempDir()
	clk := testkit.NewClock()
	s := openTest(t, dir, clk)
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Checks: []CheckSpec{{ID: "ttl", TTL: time.Minute, Status: Passing}}})
	const flaps = HistoryLen + 30
	status := []Status{Critical, Passing}
	for i := range flaps {
		clk.Advance(time.Second)
		if err := s.UpdateTTL("ttl", status[i%2], fmt.Sprintf("report %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, s *Store) {
		t.Helper()
		h, err := s.History("web1")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if len(h) != HistoryLen {
			t.Fatalf("%s: %d transitions, want %d", when, len(h), HistoryLen)
		}
		for k, tr := range h {
			i := flaps - 1 - k
			if tr.Output != fmt.Sprintf("report %d", i) || tr.To != status[i%2] || tr.CheckID != "ttl" {
				t.Fatalf("%s: transition %d is %+v, want report %d to %s", when, k, tr, i, status[i%2])
			}
		}
	}
	check("before restart", s)
	closeChecked(t, s)
	s2 := openTest(t, dir, clk)
	check("after restart", s2)
	stored := 0
	if err := s2.db.View(func(tx *bolt.Tx) error {
		stored = tx.Bucket(bucketHistory).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if stored != HistoryLen {
		t.Errorf("%d transitions on disk, want %d", stored, HistoryLen)
	}

	// A transition waiting for the flush is read at once; a crash before
	// the flush loses it along with the status it belongs to.
	// The first write after a restart commits at once, as it moves the
	// index ceiling; the next one waits for the flush.
	clk.Advance(time.Second)
	if err := s2.UpdateTTL("ttl", Critical, "after restart"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if err := s2.UpdateTTL("ttl", Warning, "pending"); err != nil {
		t.Fatal(err)
	}
	if h, _ := s2.History("web1"); len(h) != HistoryLen || h[0].Output != "pending" {
		t.Fatalf("pending transition not read: %+v", h[0])
	}
	s2.histMu.Lock()
	waiting := len(s2.hist)
	s2.histMu.Unlock()
	if waiting != 1 {
		t.Fatalf("%d transitions wait for the flush, want 1", waiting)
	}
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("no flush timer armed for a status change")
	}
	clk.Advance(time.Second)
	waitFlushed(t, s2)
	crash(s2)
	s3 := openTest(t, dir, clk)
	h, err := s3.History("web1")
	if err != nil || len(h) != HistoryLen || h[0].Output != "pending" || h[0].To != Warning {
		t.Fatalf("after a crash past the flush: %v, %+v", err, h[:1])
	}
	if in := s3.Snapshot().Instance("web1"); in.Health != h[0].To {
		t.Errorf("health %s on disk, newest transition to %s", in.Health, h[0].To)
	}
}

// waitFlushed waits until the store has no status change or transition
// waiting for the flush.
func waitFlushed(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.histMu.Lock()
		n := len(s.hist)
		s.histMu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("transitions not flushed within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHistoryAfterDeregistration: the history outlives the instance, is
// continued when the ID registers again, and only the last
// HistoryGoneMax deregistered instances keep theirs.
func TestHistoryAfterDeregistration(t *testing.T) {
	clk := testkit.NewClock()
	dir := t.TempDir()
	s := openTest(t, dir, clk)
	reg := func(id string) {
		mustRegister(t, s, Registration{ID: id, Name: "web", Checks: []CheckSpec{{ID: "c-" + id, TTL: time.Minute, Status: Passing}}})
		if err := s.UpdateTTL("c-"+id, Critical, "down"); err != nil {
			t.Fatal(err)
		}
	}
	reg("gone")
	if err := s.Deregister("gone"); err != nil {
		t.Fatal(err)
	}
	h, err := s.History("gone")
	if err != nil || len(h) != 1 || h[0].Output != "down" {
		t.Fatalf("history after deregistration: %v, %v", h, err)
	}
	reg("gone")
	if h, _ := s.History("gone"); len(h) != 2 {
		t.Fatalf("history after registering again: %v, want both transitions", h)
	}
	if err := s.Deregister("gone"); err != nil {
		t.Fatal(err)
	}
	for i := range HistoryGoneMax - 1 {
		clk.Advance(time.Millisecond)
		id := fmt.Sprintf("later-%d", i)
		reg(id)
		if err := s.Deregister(id); err != nil {
			t.Fatal(err)
		}
	}
	if h, err := s.History("gone"); err != nil || len(h) != 2 {
		t.Fatalf("with %d deregistered after it: %v, %v; want it kept", HistoryGoneMax-1, h, err)
	}
	reg("last")
	if err := s.Deregister("last"); err != nil {
		t.Fatal(err)
	}
	if h, err := s.History("gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("with %d deregistered after it: %v, %v; want it removed", HistoryGoneMax, h, err)
	}
	if h, err := s.History("later-0"); err != nil || len(h) != 1 {
		t.Errorf("the next oldest: %v, %v; want it kept", h, err)
	}
	// Age: a week later, the next deregistration sweeps them all but
	// itself.
	clk.Advance(HistoryGoneAge + time.Hour)
	reg("fresh")
	if err := s.Deregister("fresh"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.History("later-5"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a week old: %v, want it removed", err)
	}
	if h, err := s.History("fresh"); err != nil || len(h) != 1 {
		t.Errorf("just deregistered: %v, %v", h, err)
	}
}

func TestTransitionOutputCut(t *testing.T) {
	s := openTest(t, "", nil)
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Checks: []CheckSpec{{ID: "c", TTL: time.Minute, Status: Passing}}})
	long := strings.Repeat("é", 3000)
	if err := s.UpdateTTL("c", Critical, long); err != nil {
		t.Fatal(err)
	}
	h, err := s.History("web1")
	if err != nil || len(h) != 1 {
		t.Fatal(h, err)
	}
	if out := h[0].Output; len(out) > historyOutputLen || !strings.HasPrefix(long, out) || len(out) < historyOutputLen-1 {
		t.Errorf("output of %d bytes kept as %d bytes", len(long), len(out))
	}
}

// TestHistorySchema: a schema 2 file gains the history buckets at its
// first open, and a changed history record is refused by the digest.
func TestHistorySchema(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	mustRegister(t, s, Registration{ID: "w", Name: "web", Checks: []CheckSpec{{ID: "c", TTL: time.Minute, Status: Passing}}})
	closeChecked(t, s)
	path := filepath.Join(dir, "beacon.db")
	edit := func(fn func(tx *bolt.Tx) error) {
		t.Helper()
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(fn)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	// As schema 2 wrote it: no history buckets (they hold nothing yet,
	// so the digest stands).
	edit(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketHistory, bucketHistoryGone} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		w := newWriter(tx)
		if err := w.put(bucketMeta, keySchema, u64(2)); err != nil {
			return err
		}
		return w.finish()
	})
	s = openTest(t, dir, nil)
	if err := s.UpdateTTL("c", Critical, "down"); err != nil {
		t.Fatal(err)
	}
	if h, err := s.History("w"); err != nil || len(h) != 1 {
		t.Fatalf("history after the upgrade: %v, %v", h, err)
	}
	closeChecked(t, s)
	edit(func(tx *bolt.Tx) error {
		if v := readU64(tx.Bucket(bucketMeta).Get(keySchema)); v != SchemaVersion {
			t.Errorf("schema %d after the first open, want %d", v, SchemaVersion)
		}
		c := tx.Bucket(bucketHistory).Cursor()
		k, v := c.First()
		return tx.Bucket(bucketHistory).Put(slices.Clone(k), bytes.Replace(v, []byte("down"), []byte("DOWN"), 1))
	})
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("a changed history record: %v, want refused by the digest", err)
	}
}
