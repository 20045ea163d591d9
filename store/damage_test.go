package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// damageBase is a real database, written by the store and closed
// cleanly, that the damage tests corrupt copies of.
var damageBase struct {
	once sync.Once
	data []byte
	// records holds the encoding of every instance it holds.
	records map[string][]byte
	err     error
}

// baseDatabase returns the bytes of a database of 160 instances spread
// over branch, leaf, overflow and free pages, and the records it holds.
func baseDatabase(t testing.TB) ([]byte, map[string][]byte) {
	t.Helper()
	damageBase.once.Do(func() { damageBase.data, damageBase.records, damageBase.err = buildBase() })
	if damageBase.err != nil {
		t.Fatal(damageBase.err)
	}
	return damageBase.data, damageBase.records
}

func buildBase() ([]byte, map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "beacon-damage")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	clk := testkit.NewClock()
	s, err := Open(Options{Dir: dir, NodeName: "node1", Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < 160; i++ {
		r := Registration{ID: fmt.Sprintf("inst-%03d", i), Name: fmt.Sprintf("svc%d", i%10),
			Address: fmt.Sprintf("10.0.%d.%d", i/200, i%200), Port: 8000 + i, Tags: []string{"v1", fmt.Sprintf("t%d", i%7)},
			Meta:   map[string]string{"zone": fmt.Sprintf("z%d", i%3)},
			Checks: []CheckSpec{{TTL: time.Minute, Status: Passing}, {HTTP: fmt.Sprintf("http://10.0.0.%d/health", i%200), Interval: 10 * time.Second}}}
		if _, err := s.Register(r); err != nil {
			return nil, nil, err
		}
	}
	for i := 0; i < 160; i += 9 {
		if err := s.Deregister(fmt.Sprintf("inst-%03d", i)); err != nil {
			return nil, nil, err
		}
	}
	// Outputs of 4 KiB put some records on overflow pages.
	for i := 1; i < 160; i += 20 {
		if i%9 == 0 {
			continue
		}
		if err := s.UpdateTTL(fmt.Sprintf("service:inst-%03d:1", i), Warning, strings.Repeat("o", 4096)); err != nil {
			return nil, nil, err
		}
	}
	records := map[string][]byte{}
	for _, in := range s.Snapshot().Instances() {
		if records[in.ID], err = encodeInstance(in); err != nil {
			return nil, nil, err
		}
	}
	if err := s.Close(); err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "beacon.db"))
	if err != nil {
		return nil, nil, err
	}
	// bbolt grows the file ahead of its pages; the damage tests need only
	// those below the high-water mark of the newer meta page.
	hwm := max(binary.NativeEndian.Uint64(data[16+40:]), binary.NativeEndian.Uint64(data[4096+16+40:]))
	return data[:hwm*4096], records, nil
}

// edit is one damaged byte: the byte at off (modulo the file's size) is
// XORed with mask (0 stands for 0xff, so every edit changes the byte).
type edit struct {
	off  uint32
	mask byte
}

// parseEdits reads edits as 5-byte groups: a big-endian offset and a mask.
func parseEdits(b []byte) []edit {
	var out []edit
	for len(b) >= 5 && len(out) < 64 {
		out = append(out, edit{binary.BigEndian.Uint32(b), b[4]})
		b = b[5:]
	}
	return out
}

func damage(data []byte, edits []edit) []byte {
	out := bytes.Clone(data)
	for _, e := range edits {
		m := e.mask
		if m == 0 {
			m = 0xff
		}
		out[int(e.off)%len(out)] ^= m
	}
	return out
}

// openDamaged writes data as beacon.db and holds the store to its
// promise: the file is refused with one line naming it, or it opens with
// every instance as it was and takes writes that survive a restart.
func openDamaged(t *testing.T, data []byte, records map[string][]byte) (refused bool) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "beacon.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{Dir: dir, NodeName: "node1", Clock: testkit.NewClock(), Logger: slog.New(slog.DiscardHandler), LockTimeout: time.Second}
	s, err := Open(opts)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrSchemaNewer) {
			t.Fatalf("refused with %v, want ErrCorrupt", err)
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, path) {
			t.Fatalf("refusal is not one line naming the file: %q", msg)
		}
		t.Logf("refused: %v", err)
		return true
	}
	defer s.Close()
	sameRecords(t, "after opening the damaged file", s, records)
	if _, err := s.Register(Registration{ID: "after-damage", Name: "new"}); err != nil {
		t.Fatalf("the damaged file opened but a registration failed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after a write: %v", err)
	}
	s, err = Open(opts)
	if err != nil {
		t.Fatalf("reopening after a write: %v", err)
	}
	defer s.Close()
	if s.Snapshot().Instance("after-damage") == nil {
		t.Fatal("the registration made after opening the damaged file was lost")
	}
	if err := s.Deregister("after-damage"); err != nil {
		t.Fatalf("deregistering after a reopen: %v", err)
	}
	sameRecords(t, "after a write and a reopen", s, records)
	return false
}

// sameRecords fails the test unless the store holds exactly records.
func sameRecords(t *testing.T, when string, s *Store, records map[string][]byte) {
	t.Helper()
	snap := s.Snapshot()
	if n := snap.InstanceCount(); n != len(records) {
		t.Fatalf("%s: %d instances, want %d", when, n, len(records))
	}
	for id, want := range records {
		in := snap.Instance(id)
		if in == nil {
			t.Fatalf("%s: instance %s missing", when, id)
		}
		got, err := encodeInstance(in)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: instance %s changed:\n got %s\nwant %s", when, id, got, want)
		}
	}
}

// TestDamagedPages corrupts every byte of every page header in turn, and
// then random bytes anywhere, in copies of a real database.
func TestDamagedPages(t *testing.T) {
	data, records := baseDatabase(t)
	const pageSize = 4096
	hwm := len(data) / pageSize
	var cases [][]edit
	// Every page in use gets one edit, in turn in each field of its header
	// (id, flags, count, overflow) and in its first element, at bytes and
	// with masks that vary from page to page.
	for p := 0; p < hwm; p++ {
		mask := byte(0x01)
		if p%3 == 1 {
			mask = 0xff
		}
		b := []int{p % 8, 8 + p%2, 10 + p%2, 12 + p%4, 16 + p%16}[p%5]
		cases = append(cases, []edit{{uint32(p*pageSize + b), mask}})
	}
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 80; i++ {
		var es []edit
		for n := 1 + r.IntN(3); n > 0; n-- {
			es = append(es, edit{uint32(r.IntN(len(data))), byte(r.IntN(256))})
		}
		cases = append(cases, es)
	}
	var refused atomic.Int64
	t.Run("copies", func(t *testing.T) {
		for _, es := range cases {
			t.Run(fmt.Sprint(es), func(t *testing.T) {
				t.Parallel()
				if openDamaged(t, damage(data, es), records) {
					refused.Add(1)
				}
			})
		}
	})
	t.Logf("%d pages in use, %d damaged copies, %d refused, the others opened whole", hwm, len(cases), refused.Load())
}

// FuzzDamagedDatabase corrupts bytes of a real database; see parseEdits
// for how the input reads. The seeds in testdata hit meta pages, page
// headers, elements and values.
func FuzzDamagedDatabase(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		data, records := baseDatabase(t)
		openDamaged(t, damage(data, parseEdits(b)), records)
	})
}
