package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/etcdtest"
)

// openEtcd opens a store on etcd and waits for its first load; cleanup
// closes it.
func openEtcd(t *testing.T, endpoints []string, prefix, node string) *Store {
	t.Helper()
	s, err := OpenEtcd(Options{NodeName: node, Logger: slog.New(slog.DiscardHandler)},
		EtcdOptions{Endpoints: endpoints, Prefix: prefix, Timeout: 2 * time.Second,
			ProbeInterval: 200 * time.Millisecond, StaleAfter: time.Second})
	if err != nil {
		t.Fatalf("OpenEtcd: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	select {
	case <-s.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatalf("store on %v not loaded within 10s", endpoints)
	}
	if err := s.Healthy(); err != nil {
		t.Fatalf("Healthy after load: %v", err)
	}
	return s
}

// eventually polls cond every 5 ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEtcdReadYourWritesAndConvergence(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := openEtcd(t, c.Endpoints(), "/rw", "a")
	b := openEtcd(t, c.Endpoints(), "/rw", "b")
	steps := []struct {
		name  string
		write func(s *Store) error
		// mine checks the writer's snapshot right after the write
		// returned; theirs the other node's once it converged.
		check func(snap *Snapshot) bool
	}{
		{"register", func(s *Store) error {
			_, err := s.Register(Registration{ID: "web1", Name: "web", Address: "10.0.0.1", Port: 80, Tags: []string{"v1"},
				Checks: []CheckSpec{{ID: "web1-ttl", TTL: time.Minute, Status: Passing}, {ID: "web1-http", HTTP: "http://10.0.0.1/", Interval: time.Second}}})
			return err
		}, func(snap *Snapshot) bool {
			in := snap.Instance("web1")
			return in != nil && len(in.Checks) == 2 && snap.Service("web").Instances[0] == in && in.Health == Critical
		}},
		{"status", func(s *Store) error { return s.SetCheckStatus("web1-http", Passing, "ok") },
			func(snap *Snapshot) bool {
				c, in := snap.Check("web1-http")
				return c != nil && c.Status == Passing && c.Output == "ok" && in.Health == Passing
			}},
		{"re-register keeps status", func(s *Store) error {
			_, err := s.Register(Registration{ID: "web1", Name: "web", Address: "10.0.0.2", Port: 80,
				Checks: []CheckSpec{{ID: "web1-ttl", TTL: time.Minute}, {ID: "web1-http", HTTP: "http://10.0.0.1/", Interval: time.Second}}})
			return err
		}, func(snap *Snapshot) bool {
			c, in := snap.Check("web1-http")
			return in != nil && in.Address == "10.0.0.2" && c.Status == Passing
		}},
		{"maintenance", func(s *Store) error { return s.SetMaintenance("web1", true, "") },
			func(snap *Snapshot) bool {
				in := snap.Instance("web1")
				return in != nil && len(in.Checks) == 3 && in.Health == Critical
			}},
		{"deregister check", func(s *Store) error { return s.DeregisterCheck("web1-ttl") },
			func(snap *Snapshot) bool {
				c, _ := snap.Check("web1-ttl")
				return c == nil && len(snap.Instance("web1").Checks) == 2
			}},
		{"deregister", func(s *Store) error { return s.Deregister("web1") },
			func(snap *Snapshot) bool { return snap.Instance("web1") == nil && snap.Service("web") == nil }},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			writer, other := a, b
			if i%2 == 1 {
				writer, other = b, a
			}
			if err := st.write(writer); err != nil {
				t.Fatal(err)
			}
			mine := writer.Snapshot()
			if !st.check(mine) {
				t.Fatal("the writer's own snapshot does not show the write it answered")
			}
			eventually(t, time.Second, "the other node shows the write", func() bool { return st.check(other.Snapshot()) })
			eventually(t, time.Second, "both nodes at one index", func() bool { return other.Snapshot().Index() == writer.Snapshot().Index() })
			if mine.Index() <= 1 {
				t.Errorf("index %d after a write, want the etcd revision", mine.Index())
			}
		})
	}
}

func TestEtcdIndexMonotonicAcrossNodes(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := openEtcd(t, c.Endpoints(), "/idx", "a")
	b := openEtcd(t, c.Endpoints(), "/idx", "b")
	var last uint64
	for i := range 20 {
		writer, reader := a, b
		if i%2 == 1 {
			writer, reader = b, a
		}
		if _, err := writer.Register(Registration{ID: fmt.Sprintf("i%d", i%5), Name: "svc", Port: i + 1}); err != nil {
			t.Fatal(err)
		}
		got := writer.Snapshot().Index()
		if got <= last {
			t.Fatalf("write %d: index %d after %d", i, got, last)
		}
		eventually(t, time.Second, "reader catches up", func() bool { return reader.Snapshot().Index() >= got })
		if r := reader.Snapshot().Index(); r != got {
			t.Fatalf("write %d: reader at %d, writer at %d", i, r, got)
		}
		if svc := reader.Snapshot().Service("svc"); svc.Index != got {
			t.Fatalf("write %d: service index %d on the reader, want %d", i, svc.Index, got)
		}
		last = got
	}
	// A node that starts now loads the same registry at the same index,
	// also when the last change was a deletion.
	if err := a.Deregister("i0"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Register(Registration{ID: "i1", Name: "other", Port: 1}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "a catches up", func() bool { return a.Snapshot().Index() == b.Snapshot().Index() })
	fresh := openEtcd(t, c.Endpoints(), "/idx", "c")
	if f, w := fresh.Snapshot().Index(), a.Snapshot().Index(); f != w {
		t.Errorf("a node loading from scratch is at index %d, a watching one at %d", f, w)
	}
	if f, w := fresh.Snapshot().InstanceCount(), a.Snapshot().InstanceCount(); f != w || f != 4 {
		t.Errorf("fresh node has %d instances, watching node %d, want 4", f, w)
	}
	// Each service's index is that of its last change on every node,
	// also where that change was a removal or a move to another service.
	sameRegistry(t, a.Snapshot(), fresh.Snapshot())
}

// TestEtcdConcurrentWritersLoseNothing has two nodes add checks to one
// instance at the same time: every write reads, changes and writes back
// the whole instance, so without the revision guard one would overwrite
// the other's check.
func TestEtcdConcurrentWritersLoseNothing(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := openEtcd(t, c.Endpoints(), "/cw", "a")
	b := openEtcd(t, c.Endpoints(), "/cw", "b")
	if _, err := a.Register(Registration{ID: "db1", Name: "db"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "b sees db1", func() bool { return b.Snapshot().Instance("db1") != nil })
	var wg sync.WaitGroup
	errs := make(chan error, 2*MaxChecks)
	for n, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range MaxChecks / 2 {
				spec := CheckSpec{ID: fmt.Sprintf("n%d-c%d", n, i), ServiceID: "db1", TTL: time.Minute}
				if err := s.RegisterCheck(spec); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	eventually(t, 2*time.Second, "both nodes hold every check", func() bool {
		return len(a.Snapshot().Instance("db1").Checks) == MaxChecks && len(b.Snapshot().Instance("db1").Checks) == MaxChecks
	})
}

func TestEtcdStatusWritesAndHeartbeats(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := openEtcd(t, c.Endpoints(), "/hb", "a")
	b := openEtcd(t, c.Endpoints(), "/hb", "b")
	if _, err := a.Register(Registration{ID: "q1", Name: "q", Checks: []CheckSpec{{ID: "q1-ttl", TTL: 2 * time.Second, Status: Passing}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "b sees q1", func() bool { return b.Snapshot().Instance("q1") != nil })
	rev := a.remote.appliedRev()
	// A report within half the TTL of the last one etcd holds stays on
	// this node: no write.
	if err := a.UpdateTTL("q1-ttl", Passing, ""); err != nil {
		t.Fatal(err)
	}
	if got := a.remote.appliedRev(); got != rev {
		t.Errorf("a steady heartbeat wrote to etcd (revision %d → %d)", rev, got)
	}
	// Past half the TTL it reaches etcd, so the other nodes keep the
	// check alive too.
	time.Sleep(1100 * time.Millisecond)
	if err := a.UpdateTTL("q1-ttl", Passing, ""); err != nil {
		t.Fatal(err)
	}
	beat := func(s *Store) time.Time { c, _ := s.Snapshot().Check("q1-ttl"); return c.Heartbeat }
	eventually(t, time.Second, "b sees the heartbeat", func() bool { return !beat(b).Before(beat(a)) })
	// A heartbeat alone wakes nobody watching the service.
	if got, want := b.Snapshot().Service("q").Index, a.Snapshot().Service("q").Index; got != want {
		t.Errorf("service index on b %d, on a %d", got, want)
	}
	// A node loading now serves the same indexes and heartbeat.
	fresh := openEtcd(t, c.Endpoints(), "/hb", "c")
	sameRegistry(t, a.Snapshot(), fresh.Snapshot())
	// A status change is visible on both.
	if err := b.UpdateTTL("q1-ttl", Warning, "slow"); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "a sees warning", func() bool { c, _ := a.Snapshot().Check("q1-ttl"); return c.Status == Warning })
}

// TestEtcdCatchUpAfterCompaction cuts one node off, changes the registry
// and compacts etcd past the revision that node had, then lets it back:
// it must reload and end up with exactly the registry the other holds.
func TestEtcdCatchUpAfterCompaction(t *testing.T) {
	c := etcdtest.Start(t, 1)
	proxy := etcdtest.NewProxy(t, c.Endpoints()[0])
	a := openEtcd(t, c.Endpoints(), "/cp", "a")
	b := openEtcd(t, []string{proxy.Addr}, "/cp", "b")
	for i := range 10 {
		if _, err := a.Register(Registration{ID: fmt.Sprintf("x%d", i), Name: "x", Checks: []CheckSpec{{ID: fmt.Sprintf("x%d-ttl", i), TTL: time.Hour}}}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, time.Second, "b holds 10", func() bool { return b.Snapshot().InstanceCount() == 10 })
	sub := b.Subscribe()
	defer sub.Close()
	proxy.Cut()
	for i := range 5 {
		if err := a.Deregister(fmt.Sprintf("x%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Register(Registration{ID: "y", Name: "y"}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetCheckStatus("x7-ttl", Passing, "fine"); err != nil {
		t.Fatal(err)
	}
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Compact(ctx, a.remote.appliedRev()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Register(Registration{ID: "z", Name: "z"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("write through a node cut off from etcd: %v, want ErrUnavailable", err)
	}
	eventually(t, 5*time.Second, "b knows it is stale", b.Stale)
	proxy.Restore()
	eventually(t, 10*time.Second, "b caught up", func() bool { return b.Snapshot().Index() == a.Snapshot().Index() })
	sameRegistry(t, a.Snapshot(), b.Snapshot())
	if b.Stale() {
		t.Error("b still stale after catching up")
	}
	events, _ := sub.Next()
	gone := map[string]bool{}
	for _, ev := range events {
		if ev.New == nil {
			gone[ev.ID] = true
		}
	}
	if len(gone) != 5 {
		t.Errorf("the feed reported %d removals after the reload, want 5: %v", len(gone), gone)
	}
}

// sameRegistry compares what two nodes serve.
func sameRegistry(t *testing.T, a, b *Snapshot) {
	t.Helper()
	ai, bi := a.Instances(), b.Instances()
	if len(ai) != len(bi) {
		t.Fatalf("%d instances against %d", len(ai), len(bi))
	}
	for i := range ai {
		x, y := ai[i], bi[i]
		if x.ID != y.ID || x.Address != y.Address || x.Health != y.Health || x.ModifyIndex != y.ModifyIndex || len(x.Checks) != len(y.Checks) {
			t.Errorf("instance %s differs: %+v against %+v", x.ID, x, y)
			continue
		}
		for j := range x.Checks {
			if cx, cy := x.Checks[j], y.Checks[j]; cx.ID != cy.ID || cx.Status != cy.Status || cx.Output != cy.Output || cx.ModifyIndex != cy.ModifyIndex {
				t.Errorf("check %s differs: %+v against %+v", cx.ID, cx, cy)
			}
		}
	}
	if a.Index() != b.Index() || a.CatalogIndex() != b.CatalogIndex() {
		t.Errorf("index %d and catalog index %d against %d and %d", a.Index(), a.CatalogIndex(), b.Index(), b.CatalogIndex())
	}
	for _, svc := range a.Services() {
		if o := b.Service(svc.Name); o == nil || o.Index != svc.Index || len(o.Instances) != len(svc.Instances) {
			t.Errorf("service %s differs: %+v against %+v", svc.Name, svc, o)
		}
	}
}

// TestEtcdExpiryOnEveryNode lets two nodes both enforce
// DeregisterCriticalServiceAfter on one instance: it goes, once, from
// both, and a healthy neighbour stays.
func TestEtcdExpiryOnEveryNode(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := openEtcd(t, c.Endpoints(), "/exp", "a")
	b := openEtcd(t, c.Endpoints(), "/exp", "b")
	crit := CheckSpec{ID: "dead-ttl", TTL: time.Hour, Status: Critical, DeregisterCriticalServiceAfter: time.Second}
	if _, err := a.Register(Registration{ID: "dead", Name: "e", Checks: []CheckSpec{crit}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Register(Registration{ID: "alive", Name: "e", Checks: []CheckSpec{{ID: "alive-ttl", TTL: time.Hour, Status: Passing, DeregisterCriticalServiceAfter: time.Second}}}); err != nil {
		t.Fatal(err)
	}
	sub := a.Subscribe()
	defer sub.Close()
	for _, s := range []*Store{a, b} {
		eventually(t, 3*time.Second, "the critical instance expires", func() bool { return s.Snapshot().Instance("dead") == nil })
	}
	time.Sleep(300 * time.Millisecond)
	for _, s := range []*Store{a, b} {
		if s.Snapshot().Instance("alive") == nil {
			t.Errorf("node %s removed a passing instance", s.Snapshot().Node().Name)
		}
	}
	removals := 0
	for {
		evs, _ := sub.Next()
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if ev.ID == "dead" && ev.New == nil {
				removals++
			}
		}
	}
	if removals != 1 {
		t.Errorf("the feed reported %d removals of the expired instance, want 1", removals)
	}
}

// TestEtcdNotLoaded opens a store on an etcd that is not there: it is
// not healthy and refuses writes at once, as unavailable.
func TestEtcdNotLoaded(t *testing.T) {
	s, err := OpenEtcd(Options{NodeName: "x", Logger: slog.New(slog.DiscardHandler)},
		EtcdOptions{Endpoints: []string{etcdtestDeadAddr(t)}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	time.Sleep(200 * time.Millisecond)
	if err := s.Healthy(); !errors.Is(err, ErrNotLoaded) {
		t.Errorf("Healthy before any load: %v, want ErrNotLoaded", err)
	}
	start := time.Now()
	if _, err := s.Register(Registration{ID: "x", Name: "x"}); !errors.Is(err, ErrNotLoaded) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("write before any load: %v after %s, want ErrNotLoaded at once", err, time.Since(start))
	}
	select {
	case <-s.Loaded():
		t.Error("Loaded closed with no etcd")
	default:
	}
}

// etcdtestDeadAddr is a loopback address nothing listens on.
func etcdtestDeadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
