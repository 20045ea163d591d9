package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/beacon-dns/beacon/internal/etcdtest"
)

// benchReg is the registration the write benchmarks make: one instance
// with one TTL check, so two keys in one guarded transaction, in one of
// 100 services (as BenchmarkRegister spreads them on BoltDB).
func benchReg(id string, i int) Registration {
	return Registration{ID: id, Name: fmt.Sprintf("svc%d", i%100), Address: "10.0.0.1", Port: 80, Tags: []string{"v1"},
		Checks: []CheckSpec{{ID: id + "-ttl", TTL: time.Minute, Status: Passing}}}
}

// benchRun makes the IDs of every benchmark round new.
var benchRun atomic.Int64

// runClients runs n operations spread over c goroutines.
func runClients(b *testing.B, c, n int, op func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkEtcdRegister measures durable registrations a second through
// the store (committed by etcd and visible in this node's snapshot)
// against a bare etcd client sending the same guarded transaction (the
// same keys, values and comparisons) and waiting for nothing else, in the
// same run on the same etcd.
func BenchmarkEtcdRegister(b *testing.B) {
	for _, members := range benchMembers {
		c := etcdtest.Start(b, members)
		s, err := OpenEtcd(Options{NodeName: "bench", Logger: slog.New(slog.DiscardHandler)}, EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/bench"})
		if err != nil {
			b.Fatal(err)
		}
		<-s.Loaded()
		cli := c.Client(b)
		for _, clients := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("members=%d/clients=%d/store", members, clients), func(b *testing.B) {
				base := fmt.Sprintf("s%d", benchRun.Add(1))
				runClients(b, clients, b.N, func(i int) error {
					_, err := s.Register(benchReg(fmt.Sprintf("%s-%d", base, i), i))
					return err
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
			})
			b.Run(fmt.Sprintf("members=%d/clients=%d/bare", members, clients), func(b *testing.B) {
				base := fmt.Sprintf("b%d", benchRun.Add(1))
				runClients(b, clients, b.N, func(i int) error {
					in, err := bareInstance(s, benchReg(fmt.Sprintf("%s-%d", base, i), i))
					if err != nil {
						return err
					}
					def, _ := encodeDef(in)
					st, _ := encodeStatus(in.Checks[0])
					dk, sk := "/bench/"+defKey(in.ID), "/bench/"+statusKey(in.ID, in.Checks[0].ID)
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					_, err = cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(dk), "=", 0), clientv3.Compare(clientv3.ModRevision(sk), "=", 0)).
						Then(clientv3.OpPut(dk, string(def)), clientv3.OpPut(sk, string(st))).Commit()
					return err
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
			})
		}
		s.Close()
	}
}

// bareInstance builds the instance a registration makes, as the store
// would, so the bare client writes the same bytes.
func bareInstance(s *Store, r Registration) (*Instance, error) {
	t := newTxn(s.Snapshot(), time.Now())
	return s.buildInstance(t, r)
}

// BenchmarkEtcdVisibleElsewhere measures the time from a write answered
// by one node to its showing in another node's snapshot (and so in its
// DNS answers), one write at a time.
func BenchmarkEtcdVisibleElsewhere(b *testing.B) {
	c := etcdtest.Start(b, 1)
	open := func(name string) *Store {
		s, err := OpenEtcd(Options{NodeName: name, Logger: slog.New(slog.DiscardHandler)}, EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/vis"})
		if err != nil {
			b.Fatal(err)
		}
		<-s.Loaded()
		b.Cleanup(func() { s.Close() })
		return s
	}
	w, r := open("w"), open("r")
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("v%d", i)
		start := time.Now()
		if _, err := w.Register(Registration{ID: id, Name: "vis", Port: i%60000 + 1}); err != nil {
			b.Fatal(err)
		}
		for snap := r.Snapshot(); snap.Instance(id) == nil; snap = r.Snapshot() {
			select {
			case <-snap.Changed():
			case <-time.After(time.Second):
				b.Fatalf("%s not visible on the other node within 1s", id)
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkEtcdLoad measures a node's first full load of 100,000
// instances (each with one check) and the heap it then holds.
func BenchmarkEtcdLoad(b *testing.B) {
	const n = 100_000
	c := etcdtest.Start(b, 1, "--quota-backend-bytes", "4294967296")
	cli := c.Client(b)
	// Fill etcd with the keys the store writes, 50 instances a
	// transaction.
	s0, err := OpenEtcd(Options{NodeName: "fill", Logger: slog.New(slog.DiscardHandler)}, EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/load"})
	if err != nil {
		b.Fatal(err)
	}
	<-s0.Loaded()
	runClients(b, 16, n/50, func(j int) error {
		var ops []clientv3.Op
		for i := j * 50; i < (j+1)*50; i++ {
			r := benchReg(fmt.Sprintf("load-%d", i), i)
			r.Name = fmt.Sprintf("svc%d", i%1000)
			r.Address = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			in, err := bareInstance(s0, r)
			if err != nil {
				return err
			}
			def, _ := encodeDef(in)
			st, _ := encodeStatus(in.Checks[0])
			ops = append(ops, clientv3.OpPut("/load/"+defKey(in.ID), string(def)), clientv3.OpPut("/load/"+statusKey(in.ID, in.Checks[0].ID), string(st)))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := cli.Txn(ctx).Then(ops...).Commit()
		return err
	})
	s0.Close()
	for b.Loop() {
		// The peer: the same paged Get of every key, decoding nothing.
		start := time.Now()
		key, end := "/load/", clientv3.GetPrefixRangeEnd("/load/")
		var rev int64
		for {
			opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize)}
			if rev != 0 {
				opts = append(opts, clientv3.WithRev(rev))
			}
			resp, err := cli.Get(context.Background(), key, opts...)
			if err != nil {
				b.Fatal(err)
			}
			rev = resp.Header.Revision
			if !resp.More {
				break
			}
			key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		}
		b.ReportMetric(time.Since(start).Seconds(), "bare-list-s")

		debug.FreeOSMemory()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start = time.Now()
		s, err := OpenEtcd(Options{NodeName: "load", Logger: slog.New(slog.DiscardHandler)}, EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/load", Timeout: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		<-s.Loaded()
		took := time.Since(start)
		if got := s.Snapshot().InstanceCount(); got != n {
			b.Fatalf("loaded %d instances, want %d", got, n)
		}
		debug.FreeOSMemory()
		runtime.ReadMemStats(&after)
		b.ReportMetric(took.Seconds(), "load-s")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(rssKiB(b))/1024, "rss-MiB")
		s.Close()
	}
}

// benchMembers are the cluster sizes BenchmarkEtcdRegister runs on.
var benchMembers = []int{1, 3}

// rssKiB is this process's resident set size: the whole test binary
// (which filled etcd too), returned to the OS what it could, holding one
// node's loaded registry.
func rssKiB(b *testing.B) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
