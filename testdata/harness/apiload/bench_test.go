package main

// In-process benchmarks that take beacon apart layer by layer, to find
// where the time of a durable registration and of a watcher wake-up goes:
//
//	disk (BenchmarkFsync) < bbolt (BenchmarkBoltPut) < store
//	(BenchmarkStoreRegister) < HTTP API (BenchmarkAPIRegister)
//
// BenchmarkStoreGrowth for the store's cost per registration as it grows
// to 100,000 instances, and BenchmarkWatchers (beacon) and
// BenchmarkWatchersFloor (a minimal net/http server) for 1,000 blocked
// queries answered after one change. Per-operation ones take a count,
// the others run whole rounds; add -cpuprofile cpu.out to see where the
// time goes:
//
//	go test -run '^$' -bench 'Fsync|BoltPut|StoreRegister|APIRegister' -benchtime 2000x ./apiload
//	go test -run '^$' -bench 'StoreGrowth|Watchers' -benchtime 1x -v ./apiload

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit/teststore"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/beacon-dns/beacon/admin"
	"github.com/beacon-dns/beacon/store"
	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

var benchCatalogs = []int{0, 100_000}

// timed runs op once per b.Loop iteration and reports the median and p99
// of its latency beside the mean (ns/op): disk latency here has a long
// tail, and the mean alone hides how often that tail is hit.
func timed(b *testing.B, op func(i int)) {
	b.Helper()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		t := time.Now()
		op(i)
		lat = append(lat, time.Since(t))
	}
	s := summarize(lat)
	b.ReportMetric(float64(s.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(s.P99.Microseconds()), "p99-µs")
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(b *testing.B) *store.Store {
	b.Helper()
	return teststore.Open(b, store.Options{NodeName: "bench", Logger: quiet(), Registerer: prometheus.NewRegistry()})
}

// fillStore registers n instances over 1,000 services with 64 writers,
// as phase 2 does, but without HTTP.
func fillStore(b *testing.B, st *store.Store, n int) {
	b.Helper()
	teststore.Fill(b, st, n, serviceNames("fill-", 1000))
}

// BenchmarkFsync is the disk's floor under a commit: one 4 KiB page
// rewritten and fdatasync'd ("page"), and a commit shaped like bbolt's
// (4 pages at scattered offsets, fdatasync, meta page, fdatasync) into a
// file whose blocks are written already ("bolt-shape") or freshly
// extended by truncate, as bbolt grows its file ("bolt-shape-growing").
func BenchmarkFsync(b *testing.B) {
	page := make([]byte, 4096)
	for _, mode := range []string{"page", "bolt-shape", "bolt-shape-growing"} {
		b.Run(mode, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "f"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			const span = 256 // pages
			if mode != "bolt-shape-growing" {
				for p := range span {
					if _, err := f.WriteAt(page, int64(p)*4096); err != nil {
						b.Fatal(err)
					}
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			sync := func() {
				if err := unix.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
			}
			write := func(p int64) {
				if _, err := f.WriteAt(page, p*4096); err != nil {
					b.Fatal(err)
				}
			}
			timed(b, func(i int) {
				switch mode {
				case "page":
					write(0)
					sync()
				case "bolt-shape":
					for k := range 4 {
						write(int64(2 + (i*7+k*61)%(span-2)))
					}
					sync()
					write(int64(i % 2))
					sync()
				case "bolt-shape-growing":
					if err := f.Truncate(int64(i+8) * 4 * 4096); err != nil {
						b.Fatal(err)
					}
					for k := range 4 {
						write(int64(i*4 + k + 2))
					}
					sync()
					write(int64(i % 2))
					sync()
				}
			})
		})
	}
}

// BenchmarkBoltPut is one bbolt Update putting one record of the size
// beacon stores, on a database already holding catalog records, with
// bbolt's default options (as beacon opens it) and with etcd's (no
// freelist written per commit, hashmap freelist).
func BenchmarkBoltPut(b *testing.B) {
	rec := []byte(strings.Repeat("x", 230))
	options := map[string]bolt.Options{
		"default": {Timeout: time.Second},
		"etcd":    {Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType},
	}
	for _, n := range benchCatalogs {
		for _, opt := range []string{"default", "etcd"} {
			b.Run(fmt.Sprintf("catalog=%d/options=%s", n, opt), func(b *testing.B) {
				o := options[opt]
				db, err := bolt.Open(filepath.Join(b.TempDir(), "b.db"), 0o600, &o)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				bucket := []byte("instances")
				for i := 0; i <= n; i += 1000 {
					err := db.Update(func(tx *bolt.Tx) error {
						bk, err := tx.CreateBucketIfNotExists(bucket)
						for j := i; j < min(i+1000, n) && err == nil; j++ {
							err = bk.Put([]byte(fmt.Sprintf("fill-%d", j)), rec)
						}
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				timed(b, func(i int) {
					err := db.Update(func(tx *bolt.Tx) error {
						return tx.Bucket(bucket).Put([]byte(fmt.Sprintf("bench-%d", i)), rec)
					})
					if err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkStoreRegister is one durable registration through the store,
// one writer at a time: the commit latency a lone client sees.
func BenchmarkStoreRegister(b *testing.B) {
	for _, n := range benchCatalogs {
		b.Run(fmt.Sprintf("catalog=%d", n), func(b *testing.B) {
			st := openStore(b)
			fillStore(b, st, n)
			timed(b, func(i int) {
				_, err := st.Register(store.Registration{ID: fmt.Sprintf("bench-%d", i), Name: "fill-svc-0001",
					Address: fmt.Sprintf("10.%d.%d.%d", 200+i>>16&31, i>>8&255, i&255), Port: 8080,
					Tags: []string{"v1"}, Meta: map[string]string{"version": "1"}})
				if err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkStoreGrowth registers 100,000 instances through the store
// with 64 writers, as phase 2 does without HTTP, and reports for the
// first and the last 10,000 the rate and this process's CPU per
// registration (the store's work, GC included): flat CPU means the
// store's cost does not grow with the catalog.
func BenchmarkStoreGrowth(b *testing.B) {
	for b.Loop() {
		st := openStore(b)
		const step, steps = 10_000, 10
		names := serviceNames("fill-", 1000)
		var first, last [2]float64
		for k := range steps {
			cpu0, _ := stats.Host.CPU(os.Getpid())
			t := time.Now()
			var wg sync.WaitGroup
			for w := range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := k*step + w; i < (k+1)*step; i += 64 {
						_, err := st.Register(store.Registration{ID: fmt.Sprintf("g-%d", i), Name: names[i%len(names)],
							Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Port: 8080,
							Tags: []string{"v1"}, Meta: map[string]string{"version": "1"}})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			wall := time.Since(t)
			cpu1, _ := stats.Host.CPU(os.Getpid())
			got := [2]float64{rate(step, wall), float64((cpu1 - cpu0).Microseconds()) / step}
			b.Logf("up to %6d: %6.0f/s, %4.0f µs CPU/registration", (k+1)*step, got[0], got[1])
			if k == 0 {
				first = got
			}
			last = got
		}
		b.ReportMetric(first[0], "first-regs/s")
		b.ReportMetric(last[0], "last-regs/s")
		b.ReportMetric(first[1], "first-cpu-µs/reg")
		b.ReportMetric(last[1], "last-cpu-µs/reg")
		st.Close()
	}
}

// startAPI serves the admin API over st on a loopback port.
func startAPI(b *testing.B, st *store.Store) string {
	b.Helper()
	api := admin.New(admin.Config{Registerer: prometheus.NewRegistry(), Logger: quiet()}, st)
	srv := httptest.NewServer(api.Handler())
	b.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// BenchmarkAPIRegister is phase 1 in process: registrations over HTTP
// with 1 and 64 keep-alive clients, on an empty and a full catalog.
func BenchmarkAPIRegister(b *testing.B) {
	for _, n := range benchCatalogs {
		for _, clients := range []int{1, 64} {
			b.Run(fmt.Sprintf("catalog=%d/clients=%d", n, clients), func(b *testing.B) {
				st := openStore(b)
				fillStore(b, st, n)
				c := newClient(startAPI(b, st), clients+2)
				defer c.close()
				l := load{prefix: "bench-", services: serviceNames("fill-", 1000), clients: clients, count: b.N,
					until: time.Now().Add(time.Hour)}
				b.ResetTimer()
				res, err := runLoad(context.Background(), c, l)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(rate(res.N, res.Elapsed), "regs/s")
				b.ReportMetric(float64(res.Lat.P99.Microseconds()), "p99-µs")
			})
		}
	}
}

// BenchmarkWatchers is phase 3 in process: 1,000 blocked watchers on
// each endpoint answered after one registration. The figures that count
// are the reported latencies, not ns/op, which includes the settle time.
func BenchmarkWatchers(b *testing.B) {
	for _, n := range benchCatalogs {
		b.Run(fmt.Sprintf("catalog=%d", n), func(b *testing.B) {
			st := openStore(b)
			fillStore(b, st, n)
			c := newClient(startAPI(b, st), 1008)
			defer c.close()
			bb := &bench{cfg: config{watchers: 1000, settle: 200 * time.Millisecond, watchTimeout: 30 * time.Second}, log: io.Discard}
			for _, kind := range []watchKind{watchHealth, watchCatalog} {
				var lat, send []time.Duration
				for i := 0; i < b.N; i++ {
					r, err := bb.watchRound(context.Background(), c, kind, fmt.Sprintf("b%d-%d-", kind, i), 0)
					if err != nil {
						b.Fatal(err)
					}
					lat, send = append(lat, r.Lat.P99), append(send, r.FromSend.P99)
				}
				name := [...]string{"health", "catalog"}[kind]
				b.ReportMetric(float64(summarize(lat).P50.Microseconds()), name+"-p99-from-200-µs")
				b.ReportMetric(float64(summarize(send).P50.Microseconds()), name+"-p99-from-send-µs")
			}
		})
	}
}

// BenchmarkWatchersFloor is BenchmarkWatchers against the floor server:
// what 1,000 blocked watchers cost here when nothing is encoded per
// watcher.
func BenchmarkWatchersFloor(b *testing.B) {
	srv := httptest.NewServer(newFloor())
	defer srv.Close()
	c := newClient(strings.TrimPrefix(srv.URL, "http://"), 1008)
	defer c.close()
	bb := &bench{cfg: config{watchers: 1000, settle: 200 * time.Millisecond, watchTimeout: 30 * time.Second}, log: io.Discard}
	var lat, send []time.Duration
	for i := 0; i < b.N; i++ {
		r, err := bb.watchRound(context.Background(), c, watchHealth, fmt.Sprintf("f-%d-", i), 0)
		if err != nil {
			b.Fatal(err)
		}
		lat, send = append(lat, r.Lat.P99), append(send, r.FromSend.P99)
	}
	b.ReportMetric(float64(summarize(lat).P50.Microseconds()), "p99-from-200-µs")
	b.ReportMetric(float64(summarize(send).P50.Microseconds()), "p99-from-send-µs")
}

var _ http.Handler = (*fakeBeacon)(nil)
