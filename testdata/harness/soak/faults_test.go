package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/beacon-dns/beacon/store"
)

// refuseTimeout bounds how long a beacon that must not start may take to
// say so.
const refuseTimeout = 10 * time.Second

// TestBadDataDirRefused starts beacon on data dirs it cannot use: each
// must give a clear one-line error naming the problem and exit non-zero,
// never with a panic trace. (A data dir locked by a running beacon is
// covered by cmd/beacon's TestEndToEnd.)
func TestBadDataDirRefused(t *testing.T) {
	t.Parallel()
	good := populatedDB(t)
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) // dir is empty on entry
		want    []string                       // substrings of the error
	}{
		{"garbage", func(t *testing.T, dir string) {
			writeFile(t, dir, []byte(strings.Repeat("not a database ", 4000)))
		}, []string{"beacon.db", "not a readable beacon database"}},
		{"random bytes", func(t *testing.T, dir string) {
			b := make([]byte, 64<<10)
			for i := range b {
				b[i] = byte(rand.Uint32())
			}
			writeFile(t, dir, b)
		}, []string{"beacon.db", "not a readable beacon database"}},
		{"truncated in the header", func(t *testing.T, dir string) {
			writeFile(t, dir, good[:100])
		}, []string{"beacon.db", "not a readable beacon database"}},
		{"truncated after the meta pages", func(t *testing.T, dir string) {
			writeFile(t, dir, good[:16<<10])
		}, []string{"beacon.db", "not a readable beacon database"}},
		{"truncated in the middle", func(t *testing.T, dir string) {
			writeFile(t, dir, good[:len(good)/2])
		}, []string{"beacon.db", "not a readable beacon database"}},
		{"meta pages zeroed", func(t *testing.T, dir string) {
			b := append([]byte(nil), good...)
			clear(b[:8<<10])
			writeFile(t, dir, b)
		}, []string{"beacon.db", "not a readable beacon database"}},
		{"damaged record", func(t *testing.T, dir string) {
			writeFile(t, dir, good)
			boltPut(t, dir, "instances", "damaged", []byte(`{"ID":`))
		}, []string{"beacon.db", "not a readable beacon database"}},
		{"newer schema", func(t *testing.T, dir string) {
			writeFile(t, dir, good)
			boltPut(t, dir, "meta", "schema", u64(store.SchemaVersion+1))
		}, []string{"beacon.db", fmt.Sprintf("schema version %d", store.SchemaVersion+1)}},
		{"beacon.db is a directory", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "beacon.db"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, []string{"beacon.db"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			refused(t, dir, tc.want...)
		})
	}
	t.Run("data dir is a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		refused(t, path, "data")
	})
	t.Run("read-only file system", func(t *testing.T) {
		dir := mountTmpfs(t, "4m")
		writeFile(t, dir, good)
		remount(t, dir, "ro")
		refused(t, dir, "beacon.db", "read-only file system")
	})
}

// refused starts beacon on dir and checks that it exits non-zero within
// refuseTimeout with a one-line error holding each of want.
func refused(t *testing.T, dir string, want ...string) {
	t.Helper()
	p := spawn(t, dir, "-log-level", "error")
	code, err := p.Wait(refuseTimeout)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSpace(p.Log())
	if code == 0 {
		t.Errorf("beacon started on a bad data dir: exit 0, output %q", out)
	}
	if !noCrash(t, p) {
		return
	}
	last := out[strings.LastIndexByte(out, '\n')+1:]
	t.Logf("exit %d: %s", code, last)
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("error %q does not mention %q", last, w)
		}
	}
}

// populatedDB runs beacon once, registers instances with enough data to
// span many pages, stops it gracefully and returns the bytes of its
// beacon.db.
func populatedDB(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	p := serve(t, dir)
	c := newAPIClient(p.HTTPAddr)
	defer c.close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if err := c.register(t.Context(), bigRegistration(fmt.Sprintf("w%d-%d", w, i), 8)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if code, err := terminate(p); err != nil || code != 0 {
		t.Fatalf("stopping beacon: exit %d, %v", code, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "beacon.db"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 64<<10 {
		t.Fatalf("beacon.db is only %d bytes; the truncation cases need more", len(b))
	}
	return b
}

// bigRegistration is a valid registration carrying kib KiB of metadata.
func bigRegistration(id string, kib int) registration {
	meta := map[string]string{}
	for k := 0; k < 2*kib; k++ {
		meta[fmt.Sprintf("k%02d", k)] = strings.Repeat(string(rune('a'+k%26)), 500)
	}
	return registration{ID: id, Name: "bulk", Address: "10.1.2.3", Port: 80, Meta: meta}
}

func writeFile(t *testing.T, dir string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "beacon.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// boltPut writes one key of beacon.db in dir with bbolt directly, as a
// damaged disk or a newer beacon would leave it.
func boltPut(t *testing.T, dir, bucket, key string, value []byte) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "beacon.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return fmt.Errorf("no bucket %q in beacon.db", bucket)
		}
		return b.Put([]byte(key), value)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// u64 encodes v as the store does: 8 bytes, big-endian.
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
