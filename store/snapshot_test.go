package store

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestChangeChannels(t *testing.T) {
	clk := testkit.NewClock()
	s := openTest(t, "", clk)
	mustRegister(t, s, Registration{ID: "w", Name: "web", Checks: []CheckSpec{{TTL: time.Minute, Status: Passing}}})
	mustRegister(t, s, Registration{ID: "d", Name: "db"})
	snap := s.Snapshot()
	web, db := snap.Service("web"), snap.Service("db")

	// A bare heartbeat changes nothing visible: no new index, nobody woken.
	clk.Advance(time.Second)
	if err := s.UpdateTTL("service:w", Passing, ""); err != nil {
		t.Fatal(err)
	}
	if s.Snapshot().Index() != snap.Index() || closed(snap.Changed()) || closed(web.Changed()) {
		t.Fatal("a heartbeat bumped the index or woke watchers")
	}
	if c, _ := s.Snapshot().Check("service:w"); !c.Heartbeat.After(snap.Instance("w").Checks[0].Heartbeat) {
		t.Error("heartbeat not refreshed in the snapshot")
	}

	// A status change wakes web's watchers and snapshot watchers only.
	if err := s.UpdateTTL("service:w", Warning, "slow"); err != nil {
		t.Fatal(err)
	}
	after := s.Snapshot()
	if !closed(snap.Changed()) || !closed(web.Changed()) {
		t.Error("status change did not wake web's watchers")
	}
	if closed(db.Changed()) || closed(snap.CatalogChanged()) {
		t.Error("status change of web woke db's or the catalog's watchers")
	}
	if after.Service("web").Index != after.Index() || after.Service("db").Index != db.Index {
		t.Errorf("service indexes: web %d (index %d), db %d (was %d)", after.Service("web").Index, after.Index(), after.Service("db").Index, db.Index)
	}
	if after.CatalogIndex() != snap.CatalogIndex() {
		t.Error("catalog index moved on a status change")
	}

	// A new tag changes the catalog.
	mustRegister(t, s, Registration{ID: "d", Name: "db", Tags: []string{"primary"}})
	if !closed(snap.CatalogChanged()) || !closed(db.Changed()) {
		t.Error("a new tag did not wake catalog and db watchers")
	}
	if got := s.Snapshot().Service("db").Tags; len(got) != 1 || got[0] != "primary" {
		t.Errorf("db tags = %v", got)
	}
	// Removing the last instance removes the service and wakes its watchers.
	db2 := s.Snapshot().Service("db")
	if err := s.Deregister("d"); err != nil {
		t.Fatal(err)
	}
	if s.Snapshot().Service("db") != nil || !closed(db2.Changed()) {
		t.Error("service db not removed, or its watchers not woken")
	}
}

func TestSubscription(t *testing.T) {
	s := openTest(t, "", nil)
	sub := s.Subscribe()
	defer sub.Close()
	mustRegister(t, s, Registration{ID: "w", Name: "web"})
	if err := s.Deregister("w"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sub.Ready():
	case <-time.After(time.Second):
		t.Fatal("no notification")
	}
	evs, resync := sub.Next()
	if resync || len(evs) != 2 {
		t.Fatalf("events %+v resync %v, want 2 events", evs, resync)
	}
	if evs[0].New == nil || evs[0].Old != nil || evs[1].New != nil || evs[1].Old == nil || evs[0].Index >= evs[1].Index {
		t.Errorf("events out of shape or order: %+v", evs)
	}
}

func TestSnapshotListings(t *testing.T) {
	s := openTest(t, "", nil)
	for _, id := range []string{"c", "a", "b"} {
		mustRegister(t, s, Registration{ID: id, Name: "svc-" + id, Checks: []CheckSpec{{TTL: time.Minute}}})
	}
	snap := s.Snapshot()
	var ids, names, checks []string
	for _, in := range snap.Instances() {
		ids = append(ids, in.ID)
	}
	for _, svc := range snap.Services() {
		names = append(names, svc.Name)
	}
	for _, c := range snap.Checks() {
		checks = append(checks, c.ID)
	}
	want := func(got []string, w ...string) {
		t.Helper()
		if len(got) != len(w) {
			t.Fatalf("got %v, want %v", got, w)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Fatalf("got %v, want %v", got, w)
			}
		}
	}
	want(ids, "a", "b", "c")
	want(names, "svc-a", "svc-b", "svc-c")
	want(checks, "service:a", "service:b", "service:c")
}

func TestServicesAt(t *testing.T) {
	s := openTest(t, "", nil)
	a := netip.MustParseAddr("10.0.0.9")
	for i, name := range []string{"web", "web", "api"} {
		mustRegister(t, s, Registration{ID: fmt.Sprintf("i%d", i), Name: name, Address: a.String()})
	}
	want := func(names ...string) {
		t.Helper()
		if got := s.Snapshot().ServicesAt(a); !slices.Equal(got, names) {
			t.Fatalf("ServicesAt = %v, want %v", got, names)
		}
	}
	want("api", "web")
	if err := s.Deregister("i0"); err != nil {
		t.Fatal(err)
	}
	want("api", "web") // i1 still serves web there
	mustRegister(t, s, Registration{ID: "i1", Name: "web", Address: "10.0.0.10"})
	want("api")
	if err := s.Deregister("i2"); err != nil {
		t.Fatal(err)
	}
	want()
}

func TestCatalogShared(t *testing.T) {
	s := openTest(t, "", nil)
	mustRegister(t, s, Registration{ID: "w", Name: "web", Tags: []string{"b", "a"}, Checks: []CheckSpec{{TTL: time.Minute}}})
	mustRegister(t, s, Registration{ID: "d", Name: "db"})
	first := s.Snapshot().Catalog()
	if len(first) != 2 || first[0].Name != "db" || first[1].Name != "web" || !slices.Equal(first[1].Tags, []string{"a", "b"}) {
		t.Fatalf("Catalog() = %+v", first)
	}
	if err := s.UpdateTTL("service:w", Passing, ""); err != nil {
		t.Fatal(err)
	}
	if again := s.Snapshot().Catalog(); &again[0] != &first[0] {
		t.Error("a health change rebuilt the catalog list")
	}
	mustRegister(t, s, Registration{ID: "a", Name: "api"})
	if got := s.Snapshot().Catalog(); len(got) != 3 || got[0].Name != "api" {
		t.Errorf("after a new service: %+v", got)
	}
}
