package store

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fill registers n instances over 100 services with 64 writers, so the
// group commit keeps setup fast.
func fill(b *testing.B, s *Store, n int) {
	b.Helper()
	fillWith(b, s, n, func(i int) Registration {
		return Registration{ID: fmt.Sprintf("fill-%d", i), Name: fmt.Sprintf("svc%d", i%100),
			Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Port: 80, Tags: []string{"v1"}}
	})
}

// fillWith registers mk(0) to mk(n-1) with 64 writers.
func fillWith(b *testing.B, s *Store, n int, mk func(i int) Registration) {
	b.Helper()
	var wg sync.WaitGroup
	per := (n + 63) / 64
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w * per; i < min(n, (w+1)*per); i++ {
				if _, err := s.Register(mk(i)); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
}

// BenchmarkRegister measures one durable registration (fsync included) as
// the catalog grows; its cost should stay flat.
func BenchmarkRegister(b *testing.B) {
	for _, n := range []int{0, 10_000, 100_000} {
		b.Run(fmt.Sprintf("catalog=%d", n), func(b *testing.B) {
			s := openFilled(b, n)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				r := Registration{ID: fmt.Sprintf("bench-%d", i), Name: fmt.Sprintf("svc%d", i%100), Address: "10.255.0.1", Port: 80}
				if _, err := s.Register(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStatusChange measures a health result that flips an instance,
// which publishes a snapshot without waiting for disk.
func BenchmarkStatusChange(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("catalog=%d", n), func(b *testing.B) {
			s := openFilled(b, n)
			if _, err := s.Register(Registration{ID: "x", Name: "svc1", Checks: []CheckSpec{{ID: "c", TTL: 1e9}}}); err != nil {
				b.Fatal(err)
			}
			statuses := []Status{Passing, Critical}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := s.SetCheckStatus("c", statuses[i%2], ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMemory reports the heap held per registered instance.
func BenchmarkMemory(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := Open(Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		fill(b, s, 100_000)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/100_000, "heapB/instance")
		s.Close()
	}
}

// BenchmarkOpen measures what Open spends on a database of 100,000
// instances (one HTTP and one TTL check each) and, on the same file in the
// same run, each part of its checking: walkPages (beacon's own bounded
// walk of bbolt's pages), readFile (decoding every record, digest
// included), the digest alone and bbolt's Tx.Check.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	fillWith(b, s, 100_000, func(i int) Registration {
		addr := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		return Registration{ID: fmt.Sprintf("inst-%d", i), Name: fmt.Sprintf("svc%d", i%100), Address: addr, Port: 8080,
			Tags: []string{"v1", "blue"}, Meta: map[string]string{"zone": "a"},
			Checks: []CheckSpec{{HTTP: "http://" + addr + ":8080/health", Interval: 10 * time.Second}, {TTL: time.Minute}}}
	})
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "beacon.db")
	if fi, err := os.Stat(path); err == nil {
		b.Logf("beacon.db of 100,000 instances: %.1f MiB", float64(fi.Size())/(1<<20))
	}
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			s.Close()
			b.StartTimer()
		}
	})
	parts := map[string]func(tx *bolt.Tx) error{
		"walkPages": func(tx *bolt.Tx) error { return walkPages(tx, path) },
		"readFile":  func(tx *bolt.Tx) error { _, err := readFile(tx, path, time.Now()); return err },
		"Tx.Check":  func(tx *bolt.Tx) error { return checkPages(tx, path) },
		"digest": func(tx *bolt.Tx) error {
			var d digest
			return tx.Bucket(bucketInstances).ForEach(func(k, v []byte) error { d.add(bucketInstances, k, v); return nil })
		},
	}
	for _, name := range []string{"walkPages", "readFile", "digest", "Tx.Check"} {
		b.Run(name, func(b *testing.B) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			for b.Loop() {
				if err := db.View(parts[name]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// openFilled opens a store in a temp dir holding n instances, closed when
// the benchmark ends.
func openFilled(b *testing.B, n int) *Store {
	b.Helper()
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	fill(b, s, n)
	return s
}
