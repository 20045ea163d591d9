package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/beacon-dns/beacon/internal/etcdtest"
)

func clientLeaseID(id int64) clientv3.LeaseID { return clientv3.LeaseID(id) }

// TestEtcdHistory: transitions written through one node are read from
// the other, bounded to HistoryLen, kept across a node's restart, and
// after deregistration kept on a lease.
func TestEtcdHistory(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := openEtcd(t, c.Endpoints(), "/hist", "a")
	b := openEtcd(t, c.Endpoints(), "/hist", "b")
	if _, err := a.Register(Registration{ID: "web1", Name: "web", Address: "10.0.0.1",
		Checks: []CheckSpec{{ID: "ttl", TTL: time.Minute, Status: Passing}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "b sees the registration", func() bool { return b.Snapshot().Instance("web1") != nil })
	if h, err := b.History("web1"); err != nil || len(h) != 0 {
		t.Fatalf("history of a new instance: %v, %v", h, err)
	}
	if _, err := b.History("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("history of an unknown ID: %v, want ErrNotFound", err)
	}
	const flaps = HistoryLen + 10
	status := []Status{Critical, Passing}
	for i := range flaps {
		// Both nodes write, each on the snapshot it has.
		w := []*Store{a, b}[i%2]
		eventually(t, time.Second, "the writer sees the last transition", func() bool {
			in := w.Snapshot().Instance("web1")
			return i == 0 || in.Health == status[(i-1)%2]
		})
		if err := w.UpdateTTL("ttl", status[i%2], fmt.Sprintf("report %d", i)); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	check := func(what string, s *Store) {
		t.Helper()
		h, err := s.History("web1")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(h) != HistoryLen {
			t.Fatalf("%s: %d transitions, want %d", what, len(h), HistoryLen)
		}
		for k, tr := range h {
			i := flaps - 1 - k
			if tr.Output != fmt.Sprintf("report %d", i) || tr.To != status[i%2] || tr.From != status[(i+1)%2] || tr.CheckID != "ttl" {
				t.Fatalf("%s: transition %d is %+v, want report %d to %s", what, k, tr, i, status[i%2])
			}
		}
	}
	check("read from a", a)
	check("read from b", b)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	check("read from a restarted node", openEtcd(t, c.Endpoints(), "/hist", "a"))

	if err := b.Deregister("web1"); err != nil {
		t.Fatal(err)
	}
	check("read after deregistration", b)
	resp, err := b.remote.cli.Get(context.Background(), b.remote.historyKey("web1"))
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Fatalf("history key after deregistration: %v, %v; want it on a lease", resp, err)
	}
	ttl, err := b.remote.cli.TimeToLive(context.Background(), clientLeaseID(resp.Kvs[0].Lease))
	if err != nil || ttl.TTL <= 0 || time.Duration(ttl.TTL)*time.Second > HistoryGoneAge {
		t.Fatalf("lease of a deregistered history: %+v, %v; want at most %s", ttl, err, HistoryGoneAge)
	}
	// Registered again, the history continues and leaves its lease.
	if _, err := b.Register(Registration{ID: "web1", Name: "web", Address: "10.0.0.1",
		Checks: []CheckSpec{{ID: "ttl", TTL: time.Minute, Status: Passing}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateTTL("ttl", Warning, "back, slow"); err != nil {
		t.Fatal(err)
	}
	h, err := b.History("web1")
	if err != nil || len(h) != HistoryLen || h[0].Output != "back, slow" {
		t.Fatalf("history after registering again: %v, %+v", err, h[:1])
	}
	resp, err = b.remote.cli.Get(context.Background(), b.remote.historyKey("web1"))
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease != 0 {
		t.Fatalf("history key after registering again: %v, %v; want it without a lease", resp, err)
	}
}

// TestEtcdChangesLogged: a node logs the changes it applies from the
// watch, whichever node made them, but not the registry it loads.
func TestEtcdChangesLogged(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := openEtcd(t, c.Endpoints(), "/logs", "a")
	for _, id := range []string{"web1", "web2"} {
		if _, err := a.Register(Registration{ID: id, Name: "web", Address: "10.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncBuffer{}
	b, err := OpenEtcd(Options{NodeName: "b", Logger: slog.New(slog.NewTextHandler(logs, nil))},
		EtcdOptions{Endpoints: c.Endpoints(), Prefix: "/logs", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	<-b.Loaded()
	if _, err := a.Register(Registration{ID: "web3", Name: "web", Address: "10.0.0.3",
		Checks: []CheckSpec{{ID: "ttl", TTL: time.Minute, Status: Passing}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateTTL("ttl", Critical, "down"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "b applies the transition", func() bool {
		in := b.Snapshot().Instance("web3")
		return in != nil && in.Health == Critical
	})
	out := logs.take()
	for _, want := range []string{`msg="registry loaded from etcd"`, `msg="instance registered" service=web id=web3`,
		`msg="health changed" service=web id=web3 address=10.0.0.3 port=0 from=passing to=critical check=ttl output=down`} {
		if !strings.Contains(out, want) {
			t.Errorf("b's log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "id=web1") {
		t.Errorf("b logged the instances it loaded:\n%s", out)
	}
}
