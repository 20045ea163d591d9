package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/beacon-dns/beacon/internal/etcdtest"
)

// TestEtcdAutoCompaction runs etcd with the flags README gives against
// unbounded history (with a test-sized retention): etcd compacts by
// itself while nodes keep writing and watching, and every node stays in
// step with the registry.
func TestEtcdAutoCompaction(t *testing.T) {
	c := etcdtest.Start(t, 1, "--auto-compaction-mode=periodic", "--auto-compaction-retention=1s")
	a := openEtcd(t, c.Endpoints(), "/ac", "a")
	b := openEtcd(t, c.Endpoints(), "/ac", "b")
	cli := c.Client(t)
	first := a.remote.appliedRev()
	compacted := false
	for i := 0; i < 400 && !compacted; i++ {
		if _, err := []*Store{a, b}[i%2].Register(Registration{ID: fmt.Sprintf("r%d", i%50), Name: "r", Port: i + 1}); err != nil {
			t.Fatal(err)
		}
		compacted = compactedPast(t, cli, first)
		time.Sleep(25 * time.Millisecond)
	}
	if !compacted {
		t.Fatalf("etcd kept revision %d for 10s with --auto-compaction-retention=1s", first)
	}
	eventually(t, 2*time.Second, "both nodes at one index", func() bool { return a.Snapshot().Index() == b.Snapshot().Index() })
	sameRegistry(t, a.Snapshot(), b.Snapshot())
}

// compactedPast reports whether etcd has compacted revision rev away: a
// watch from it is then refused with the compacted revision.
func compactedPast(t *testing.T, cli *clientv3.Client, rev int64) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for wr := range cli.Watch(ctx, "/ac/", clientv3.WithPrefix(), clientv3.WithRev(rev)) {
		return wr.CompactRevision != 0
	}
	return false
}
