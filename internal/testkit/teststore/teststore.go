// Package teststore opens real stores for the tests of the packages that
// use one, as bbolt's internal/btesting does for bbolt's: in a temporary
// directory, closed when the test ends and the file then checked for
// consistency. store's own tests do not use it, since it imports store.
package teststore

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/beacon-dns/beacon/store"
)

// Open opens a store with opts, in a new temporary directory when
// opts.Dir is empty and logging nowhere when opts.Logger is nil. When the
// test ends it closes the store and checks the BoltDB file's consistency,
// failing the test on any error.
func Open(tb testing.TB, opts store.Options) *store.Store {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := store.Open(opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
		Check(tb, st.Path())
	})
	return st
}

// Check reports, as errors of tb, every inconsistency bbolt finds in the
// closed database file at path.
func Check(tb testing.TB, path string) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		tb.Errorf("reopen %s: %v", path, err)
		return
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			tb.Errorf("%s: %v", path, err)
		}
		return nil
	}); err != nil {
		tb.Errorf("check %s: %v", path, err)
	}
}

// Fill registers n instances, fill-0 to fill-(n-1), spread in turn over
// the services names, from 64 writers at once so that the group commit
// keeps a large setup short.
func Fill(tb testing.TB, st *store.Store, n int, names []string) {
	tb.Helper()
	var wg sync.WaitGroup
	var once sync.Once
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				_, err := st.Register(store.Registration{ID: fmt.Sprintf("fill-%d", i), Name: names[i%len(names)],
					Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Port: 8080,
					Tags: []string{"v1"}, Meta: map[string]string{"version": "1"}})
				if err != nil {
					once.Do(func() { tb.Error(err) })
					return
				}
			}
		}()
	}
	wg.Wait()
}
