package store

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// syncBuffer is a bytes.Buffer safe for the store's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// take returns what was written since the last take.
func (b *syncBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b.String()
	b.b.Reset()
	return s
}

func TestChangesLoggedAtInfo(t *testing.T) {
	logs := &syncBuffer{}
	s, err := Open(Options{Dir: t.TempDir(), NodeName: "node1", FlushInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeChecked(t, s) })
	steps := []struct {
		name string
		do   func() error
		// want are the lines expected, each as substrings in order;
		// nothing else may be logged.
		want [][]string
	}{
		{"register", func() error {
			_, err := s.Register(Registration{ID: "web1", Name: "web", Address: "10.0.0.1", Port: 80, Checks: []CheckSpec{{ID: "ttl", TTL: time.Minute, Status: Passing}}})
			return err
		}, [][]string{{"level=INFO", `msg="instance registered"`, "service=web", "id=web1", "address=10.0.0.1", "port=80", "health=passing"}}},
		{"heartbeat", func() error { return s.UpdateTTL("ttl", Passing, "") }, nil},
		{"health transition", func() error { return s.UpdateTTL("ttl", Critical, "disk full") }, [][]string{
			{"level=INFO", `msg="health changed"`, "service=web", "id=web1", "address=10.0.0.1", "from=passing", "to=critical", "check=ttl", `output="disk full"`}}},
		{"output alone", func() error { return s.UpdateTTL("ttl", Critical, "disk still full") }, nil},
		{"maintenance on", func() error { return s.SetMaintenance("web1", true, "swap disk") }, [][]string{
			{"level=INFO", `msg="maintenance enabled"`, "service=web", "id=web1", "address=10.0.0.1", `reason="swap disk"`}}},
		{"recover under maintenance", func() error { return s.UpdateTTL("ttl", Passing, "ok") }, nil},
		{"maintenance off", func() error { return s.SetMaintenance("web1", false, "") }, [][]string{
			{"level=INFO", `msg="maintenance disabled"`, "id=web1"},
			{"level=INFO", `msg="health changed"`, "id=web1", "from=critical", "to=passing", "check=_service_maintenance:web1", `output="maintenance mode disabled"`}}},
		{"re-register changed", func() error {
			_, err := s.Register(Registration{ID: "web1", Name: "web", Address: "10.0.0.2", Port: 80, Checks: []CheckSpec{{ID: "ttl", TTL: time.Minute}}})
			return err
		}, [][]string{{"level=INFO", `msg="instance updated"`, "id=web1", "address=10.0.0.2"}}},
		{"deregister", func() error { return s.Deregister("web1") }, [][]string{
			{"level=INFO", `msg="instance deregistered"`, "service=web", "id=web1", "address=10.0.0.2"}}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := strings.Split(strings.TrimSpace(logs.take()), "\n")
		if got[0] == "" {
			got = nil
		}
		if len(got) != len(st.want) {
			t.Errorf("%s: %d lines, want %d:\n%s", st.name, len(got), len(st.want), strings.Join(got, "\n"))
			continue
		}
		for i, parts := range st.want {
			for _, p := range parts {
				if !strings.Contains(got[i], p) {
					t.Errorf("%s: line %q lacks %q", st.name, got[i], p)
				}
			}
		}
	}
}

// TestReapLogged: an instance removed for being critical too long says
// which check removed it, then that it is deregistered.
func TestReapLogged(t *testing.T) {
	logs := &syncBuffer{}
	clk := testkit.NewClock()
	s, err := Open(Options{Dir: t.TempDir(), NodeName: "node1", Clock: clk,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeChecked(t, s) })
	mustRegister(t, s, Registration{ID: "web1", Name: "web", Address: "10.0.0.1", Checks: []CheckSpec{
		{ID: "http", HTTP: "http://10.0.0.1/", Interval: 10 * time.Second, Status: Critical, DeregisterCriticalServiceAfter: time.Minute}}})
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("no reap timer armed")
	}
	clk.Advance(2 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for s.Snapshot().Instance("web1") != nil {
		if time.Now().After(deadline) {
			t.Fatal("not reaped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	out := logs.take()
	for _, want := range []string{
		`msg="deregistering instance critical for too long" service=web id=web1 address=10.0.0.1 port=0 check=http critical_since=2026-01-02T03:04:05Z deregister_after=1m0s`,
		`msg="instance deregistered" service=web id=web1 address=10.0.0.1 port=0 health=critical`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
