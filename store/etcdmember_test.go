package store

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/etcdtest"
)

// openMember opens a store on etcd as node name with the given lease TTL
// and HTTP address, without waiting for its load; cleanup closes it.
func openMember(t *testing.T, endpoints []string, prefix, name string, ttl time.Duration) *Store {
	t.Helper()
	s, err := OpenEtcd(Options{NodeName: name, Advertise: "127.0.0.1", Logger: slog.New(slog.DiscardHandler)},
		EtcdOptions{Endpoints: endpoints, Prefix: prefix, Timeout: 2 * time.Second,
			ProbeInterval: 200 * time.Millisecond, StaleAfter: time.Second, NodeTTL: ttl, HTTPAddr: "127.0.0.1:85" + name, Settle: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("OpenEtcd: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func memberNames(s *Store) []string {
	var out []string
	for _, m := range s.Members() {
		out = append(out, m.Name)
	}
	return out
}

func waitLoaded(t *testing.T, s *Store) {
	t.Helper()
	select {
	case <-s.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("store not loaded within 10s")
	}
}

// TestEtcdMembership: nodes on one etcd see each other from the watch; a
// second live node of one name is refused; a node that leaves is gone
// at once, and one cut off from etcd once its lease expires.
func TestEtcdMembership(t *testing.T) {
	c := etcdtest.Start(t, 1)
	ep := c.Endpoints()
	a := openMember(t, ep, "/m", "01", 10*time.Second)
	b := openMember(t, ep, "/m", "02", 10*time.Second)
	waitLoaded(t, a)
	waitLoaded(t, b)
	for _, s := range []*Store{a, b} {
		eventually(t, 2*time.Second, "both nodes are members", func() bool { return slices.Equal(memberNames(s), []string{"01", "02"}) })
	}
	if m := b.Members()[0]; m.HTTP != "127.0.0.1:8501" || m.Address != "127.0.0.1" || m.ID != a.Snapshot().Node().ID {
		t.Errorf("b sees node 01 as %+v", m)
	}

	// The duplicate waits its own TTL for the name, then gives up.
	dup := openMember(t, ep, "/m", "01", 2*time.Second)
	waitLoaded(t, dup)
	err := dup.Healthy()
	if !errors.Is(err, ErrNodeNameTaken) {
		t.Fatalf("a second live node 01: Healthy = %v, want ErrNodeNameTaken", err)
	}
	t.Logf("refused: %v", err)
	if _, err := dup.Register(Registration{ID: "x", Name: "x"}); !errors.Is(err, ErrNodeNameTaken) {
		t.Errorf("write through the refused node: %v, want ErrNodeNameTaken", err)
	}
	if err := dup.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Healthy(); err != nil {
		t.Errorf("the refused duplicate hurt the live node: %v", err)
	}
	eventually(t, time.Second, "the live 01 keeps its membership", func() bool { return slices.Equal(memberNames(b), []string{"01", "02"}) })

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "a node that closed leaves at once", func() bool { return slices.Equal(memberNames(b), []string{"02"}) })

	// A node cut off from etcd is no longer a member once its lease
	// expired, and joins again when etcd is back.
	p := etcdtest.NewProxy(t, ep[0])
	const ttl = 2 * time.Second
	cut := openMember(t, []string{p.Addr}, "/m", "03", ttl)
	waitLoaded(t, cut)
	eventually(t, 2*time.Second, "03 joins", func() bool { return slices.Equal(memberNames(b), []string{"02", "03"}) })
	p.Cut()
	start := time.Now()
	eventually(t, ttl+3*time.Second, "a node cut off leaves after its TTL", func() bool { return slices.Equal(memberNames(b), []string{"02"}) })
	if d := time.Since(start); d < ttl-500*time.Millisecond {
		t.Errorf("03 left %s after it was cut off, before its TTL of %s", d, ttl)
	}

	// A node restarted at once after a crash finds its name held by its
	// dead self: it waits for that lease to expire, then joins.
	p2 := etcdtest.NewProxy(t, ep[0])
	crashed := openMember(t, []string{p2.Addr}, "/m", "05", ttl)
	waitLoaded(t, crashed)
	eventually(t, 2*time.Second, "05 joins", func() bool { return slices.Contains(memberNames(b), "05") })
	p2.Cut()
	start = time.Now()
	restarted := openMember(t, ep, "/m", "05", ttl)
	waitLoaded(t, restarted)
	if err := restarted.Healthy(); err != nil {
		t.Fatalf("restarted 05: %v", err)
	}
	if d := time.Since(start); d < ttl-500*time.Millisecond {
		t.Errorf("the restarted 05 joined %s after the crash, while the old lease (TTL %s) could still be live", d, ttl)
	}
	eventually(t, time.Second, "05 is a member again", func() bool { return slices.Equal(memberNames(b), []string{"02", "05"}) })

	p.Restore()
	eventually(t, 10*time.Second, "03 joins again", func() bool { return slices.Equal(memberNames(b), []string{"02", "03", "05"}) })
}
