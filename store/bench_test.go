package store

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// fill registers n instances over 100 services with 64 writers, so the
// group commit keeps setup fast.
func fill(b *testing.B, s *Store, n int) {
	b.Helper()
	var wg sync.WaitGroup
	per := (n + 63) / 64
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w * per; i < min(n, (w+1)*per); i++ {
				r := Registration{ID: fmt.Sprintf("fill-%d", i), Name: fmt.Sprintf("svc%d", i%100),
					Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Port: 80, Tags: []string{"v1"}}
				if _, err := s.Register(r); err != nil {
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
			s, err := Open(Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fill(b, s, n)
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
			s, err := Open(Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fill(b, s, n)
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
