package admin

// BenchmarkLargeReadRSS measures what concurrent large reads cost in
// resident memory. Run it once; it registers 200,000 instances first
// (BEACON_BENCH_INSTANCES sets another number):
//
//	go test -run '^$' -bench LargeReadRSS -benchtime 1x -v ./admin

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/beacon-dns/beacon/internal/testkit/teststore"

	"github.com/beacon-dns/beacon/store"
)

// procStatus reads one "Key: N kB" line of /proc/self/status, in bytes.
func procStatus(b *testing.B, key string) uint64 {
	b.Helper()
	text, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || len(f) != 2 || f[1] != "kB" {
			b.Fatalf("/proc/self/status: %q", line)
		}
		return n << 10
	}
	b.Fatalf("/proc/self/status has no %s", key)
	return 0
}

// settle returns the resident memory after a full collection, and resets
// the peak (VmHWM) to it, so the next reading of the peak belongs to
// what runs after.
func settle(b *testing.B) uint64 {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("resetting the peak RSS: %v", err)
	}
	return procStatus(b, "VmRSS")
}

// readConcurrently sends n GETs of path at once and reads every answer
// to the end, returning the size of one.
func readConcurrently(b *testing.B, url string, n int) int64 {
	b.Helper()
	var wg sync.WaitGroup
	sizes := make([]int64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("GET %s: %s", url, resp.Status)
			}
			sizes[i], _ = io.Copy(io.Discard, resp.Body)
		}()
	}
	wg.Wait()
	for _, s := range sizes[1:] {
		if s != sizes[0] {
			b.Errorf("answers of %d and %d bytes to the same read", sizes[0], s)
		}
	}
	return sizes[0]
}

func BenchmarkLargeReadRSS(b *testing.B) {
	n := 200_000
	if s := os.Getenv("BEACON_BENCH_INSTANCES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("BEACON_BENCH_INSTANCES: %v", err)
		}
	}
	st := openStore(b, b.TempDir())
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("svc%d", i)
	}
	teststore.Fill(b, st, n, names)

	// Each round gets an API of its own, so no round finds an answer
	// that an earlier one encoded.
	round := func(readers int, warm bool) (base, peak uint64, size int64) {
		api := New(Config{Logger: quietLogger()}, st)
		srv := httptest.NewServer(api.Handler())
		defer srv.Close()
		url := srv.URL + "/v1/agent/services"
		if warm {
			readConcurrently(b, url, 1)
			if _, err := st.Register(store.Registration{ID: "fill-0", Name: "svc0", Address: "10.9.9.9", Port: 1}); err != nil {
				b.Fatal(err)
			}
		}
		base = settle(b)
		size = readConcurrently(b, url, readers)
		return base, procStatus(b, "VmHWM"), size
	}
	for b.Loop() {
		for _, r := range []struct {
			name    string
			readers int
			warm    bool
		}{
			{"1-reader", 1, false},
			{"8-readers", 8, false},
			{"8-readers-after-change", 8, true},
		} {
			base, peak, size := round(r.readers, r.warm)
			b.ReportMetric(float64(peak-base)/1e6, r.name+"-MB")
			b.Logf("%s: %d instances, answer %.1f MB, RSS %.0f MB before, peak %.0f MB (+%.0f MB)",
				r.name, n, float64(size)/1e6, float64(base)/1e6, float64(peak)/1e6, float64(peak-base)/1e6)
		}
	}
	b.Logf("GOMAXPROCS %d", runtime.GOMAXPROCS(0))
}
