package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/beacon-dns/beacon/internal/etcdtest"
)

// TestEtcdLedgerAcrossLeaderKill writes through two nodes from eight
// writers while the etcd leader is killed with SIGKILL: every write that
// was answered must be on both nodes afterwards, and on a node that loads
// the registry from scratch.
func TestEtcdLedgerAcrossLeaderKill(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a := openEtcd(t, c.Endpoints(), "/ledger", "a")
	b := openEtcd(t, c.Endpoints(), "/ledger", "b")
	var (
		mu        sync.Mutex
		acked     []string
		afterKill int
		failed    int
		killed    = make(chan struct{})
	)
	stop := time.Now().Add(4 * time.Second)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*Store{a, b}[w%2]
			for i := 0; i < 2000 && time.Now().Before(stop); i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				_, err := s.Register(Registration{ID: id, Name: fmt.Sprintf("svc%d", i%7), Port: 1000 + i})
				mu.Lock()
				switch {
				case err == nil:
					acked = append(acked, id)
					select {
					case <-killed:
						afterKill++
					default:
					}
				case errors.Is(err, ErrUnavailable):
					failed++
				default:
					t.Errorf("write %s: %v", id, err)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	leader := c.Leader(t)
	leader.Kill(t)
	close(killed)
	t.Logf("killed the etcd leader %s", leader.Name)
	wg.Wait()
	t.Logf("%d writes answered (%d after the kill), %d failed as unavailable", len(acked), afterKill, failed)
	if afterKill == 0 {
		t.Error("no write succeeded after the leader was killed")
	}
	// The killed leader comes back on its data; a node that reads only
	// from it gets every answered write too.
	leader.Restart(t)
	c.WaitReady(t, 20*time.Second)
	fresh := openEtcd(t, []string{leader.Client}, "/ledger", "c")
	for _, s := range []*Store{a, b, fresh} {
		eventually(t, 5*time.Second, "every node at one index", func() bool { return s.Snapshot().Index() == a.Snapshot().Index() })
		snap := s.Snapshot()
		for _, id := range acked {
			if snap.Instance(id) == nil {
				t.Errorf("node %s lost the acknowledged write %s", snap.Node().Name, id)
			}
		}
	}
	sameRegistry(t, a.Snapshot(), fresh.Snapshot())
	sameRegistry(t, b.Snapshot(), fresh.Snapshot())
}

// TestEtcdFrozen stops every etcd member: reads go on from memory, the
// node reports itself stale, writes fail within the timeout, and all
// recovers once etcd resumes.
func TestEtcdFrozen(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a := openEtcd(t, c.Endpoints(), "/frozen", "a")
	b := openEtcd(t, c.Endpoints(), "/frozen", "b")
	reg := prometheus.NewRegistry()
	m, err := OpenEtcd(Options{NodeName: "m", Logger: slog.New(slog.DiscardHandler), Registerer: reg},
		EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/frozen", Timeout: 2 * time.Second, ProbeInterval: 200 * time.Millisecond, StaleAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	<-m.Loaded()
	stale := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if problems, err := promlint.NewWithMetricFamilies(mfs).Lint(); err != nil || len(problems) > 0 {
			t.Errorf("promlint: %v %v", problems, err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "beacon_store_stale_seconds" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no beacon_store_stale_seconds")
		return 0
	}
	if v := stale(); v != 0 {
		t.Errorf("beacon_store_stale_seconds %v while etcd answers, want 0", v)
	}
	if _, err := a.Register(Registration{ID: "api1", Name: "api", Address: "10.1.1.1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "b sees api1", func() bool { return b.Snapshot().Instance("api1") != nil })
	for _, m := range c.Members {
		m.Signal(t, syscall.SIGSTOP)
	}
	resumed := false
	resume := func() {
		if !resumed {
			for _, m := range c.Members {
				m.Signal(t, syscall.SIGCONT)
			}
			resumed = true
		}
	}
	defer resume()
	start := time.Now()
	_, err = b.Register(Registration{ID: "api2", Name: "api"})
	took := time.Since(start)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("write with etcd frozen: %v, want ErrUnavailable", err)
	}
	if limit := b.remote.opts.Timeout + 500*time.Millisecond; took > limit {
		t.Errorf("write with etcd frozen took %s, want at most %s", took, limit)
	}
	t.Logf("write failed after %s: %v", took.Round(time.Millisecond), err)
	eventually(t, 5*time.Second, "a reports itself stale", a.Stale)
	eventually(t, 5*time.Second, "the stale metric counts", func() bool { return stale() > 1 })
	for _, s := range []*Store{a, b} {
		if in := s.Snapshot().Instance("api1"); in == nil || in.Address != "10.1.1.1" {
			t.Errorf("node %s stopped serving api1 while etcd is frozen", s.Snapshot().Node().Name)
		}
		if err := s.Healthy(); err != nil {
			t.Errorf("node %s unhealthy while etcd is frozen: %v", s.Snapshot().Node().Name, err)
		}
	}
	resume()
	eventually(t, 15*time.Second, "a fresh again", func() bool { return !a.Stale() && !b.Stale() && stale() == 0 })
	eventually(t, 15*time.Second, "a write succeeds again", func() bool {
		_, err := b.Register(Registration{ID: "api2", Name: "api"})
		return err == nil
	})
	eventually(t, time.Second, "a sees the write made through b", func() bool { return a.Snapshot().Instance("api2") != nil })
}
