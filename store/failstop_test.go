package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestPanicInsideBoltStopsWrites damages a page of beacon.db under a
// running store, as a failing disk or a stray writer would, so that bbolt
// panics inside the next write. The store must survive it: that write and
// every later one fail with ErrWritesStopped, readers keep the last
// snapshot, Healthy reports it, Close returns, and the next Open refuses
// the damaged file.
func TestPanicInsideBoltStopsWrites(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	for i := 0; i < 100; i++ {
		mustRegister(t, s, Registration{ID: fmt.Sprintf("i%d", i), Name: "web", Tags: []string{strings.Repeat("t", 100)}})
	}
	var root uint64
	if err := s.db.View(func(tx *bolt.Tx) error {
		root = uint64(tx.Bucket(bucketInstances).Root())
		return nil
	}); err != nil || root == 0 {
		t.Fatalf("instances bucket root %d, %v", root, err)
	}
	// The page now says it is another page: bbolt asserts on reading it.
	f, err := os.OpenFile(s.Path(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(binary.NativeEndian.AppendUint64(nil, root+1000), int64(root)*int64(s.db.Info().PageSize)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	before := s.Snapshot()
	_, err = s.Register(Registration{ID: "new", Name: "web"})
	if !errors.Is(err, ErrWritesStopped) || !strings.Contains(err.Error(), "bbolt failed inside a write") ||
		!strings.Contains(err.Error(), "outcome of this write is unknown") {
		t.Fatalf("write that made bbolt panic answered %v, want writes stopped and the outcome unknown", err)
	}
	if s.Snapshot() != before || s.Snapshot().Instance("i7") == nil {
		t.Error("readers lost the last snapshot")
	}
	if err := s.Healthy(); !errors.Is(err, ErrWritesStopped) {
		t.Errorf("Healthy() = %v, want writes stopped", err)
	}
	for name, write := range map[string]func() error{
		"deregister":   func() error { return s.Deregister("i1") },
		"status":       func() error { return s.SetCheckStatus("nope", Passing, "") },
		"re-register":  func() error { _, err := s.Register(Registration{ID: "i2", Name: "web"}); return err },
		"maintenance":  func() error { return s.SetMaintenance("i3", true, "") },
		"check add":    func() error { return s.RegisterCheck(CheckSpec{ServiceID: "i4", Name: "c", TTL: time.Minute}) },
		"check remove": func() error { return s.DeregisterCheck("nope") },
	} {
		if err := write(); !errors.Is(err, ErrWritesStopped) || !strings.Contains(err.Error(), "restart beacon") {
			t.Errorf("%s after the panic: %v, want writes stopped", name, err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung after a panic inside bbolt")
	}
	_, err = Open(Options{Dir: dir, LockTimeout: time.Second})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("reopening the damaged file: %v, want it refused", err)
	}
}
