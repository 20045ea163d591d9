package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/etcdtest"
)

// TestEtcdFencing: a node cut off from etcd owns no check before its
// lease can have expired and refuses to write results at once; a result
// guarded by a lease that expired is refused by etcd itself and changes
// nothing.
func TestEtcdFencing(t *testing.T) {
	c := etcdtest.Start(t, 1)
	ep := c.Endpoints()
	p := etcdtest.NewProxy(t, ep[0])
	const ttl = 2 * time.Second
	a := openMember(t, []string{p.Addr}, "/f", "a", ttl)
	b := openMember(t, ep, "/f", "b", ttl)
	waitLoaded(t, a)
	waitLoaded(t, b)
	if _, err := b.Register(Registration{ID: "x", Name: "x", Checks: []CheckSpec{{ID: "x-http", HTTP: "http://127.0.0.1:1/", Interval: time.Second}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "both nodes settled", func() bool {
		return slices.Equal(a.Ownership().Owners(), []string{"a", "b"}) && slices.Equal(b.Ownership().Owners(), []string{"a", "b"})
	})
	eventually(t, time.Second, "a has the instance", func() bool { return a.Snapshot().Instance("x") != nil })
	if err := a.SetCheckStatus("x-http", Passing, "ok"); err != nil {
		t.Fatalf("a live member's result: %v", err)
	}
	eventually(t, time.Second, "b sees a's result", func() bool { ch, _ := b.Snapshot().Check("x-http"); return ch.Status == Passing })
	oldLease := a.remote.lease.Load()

	p.Cut()
	cut := time.Now()
	own := a.Ownership()
	select {
	case <-own.Changed():
	case <-time.After(ttl):
		t.Fatalf("a still owns checks %s after it was cut off", ttl)
	}
	quietAfter := time.Since(cut)
	if a.Ownership().Owns("x") || slices.ContainsFunc([]string{"1", "2", "3", "4", "5", "6"}, a.Ownership().Owns) {
		t.Error("a cut-off node still owns instances")
	}
	start := time.Now()
	if err := a.SetCheckStatus("x-http", Critical, "stale"); !errors.Is(err, ErrNotMember) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("result from a cut-off node: %v after %s, want ErrNotMember at once", err, time.Since(start))
	}
	eventually(t, ttl+3*time.Second, "b sees a's lease expire", func() bool { return slices.Equal(memberNames(b), []string{"b"}) })
	t.Logf("a went quiet %s after it was cut off; b saw it leave %s after (TTL %s)", quietAfter.Round(time.Millisecond), time.Since(cut).Round(time.Millisecond), ttl)
	if !b.Ownership().Owns("x") {
		t.Error("the survivor does not own the instance")
	}

	// Back in touch, a write still guarded by the expired lease fails in
	// etcd and changes nothing.
	p.Restore()
	err := a.remote.write(func(t *txn) error {
		ch, old := t.check("x-http")
		nc := *ch
		t.setStatus(old, &nc, Critical, "stale")
		return nil
	}, oldLease)
	if !errors.Is(err, ErrNotMember) {
		t.Errorf("write guarded by the expired lease: %v, want ErrNotMember", err)
	}
	time.Sleep(200 * time.Millisecond)
	if ch, _ := b.Snapshot().Check("x-http"); ch.Status != Passing {
		t.Errorf("a stale result reached etcd: %s %q", ch.Status, ch.Output)
	}
	eventually(t, 10*time.Second, "a joins again and owns checks", func() bool {
		return slices.Equal(memberNames(b), []string{"a", "b"}) && slices.Equal(a.Ownership().Owners(), []string{"a", "b"}) && a.SetCheckStatus("x-http", Passing, "ok") == nil
	})
}
