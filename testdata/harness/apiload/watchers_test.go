package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// faulty is the floor server, or the floor server with its blocking
// queries broken the way a buggy server would break them: "no-block"
// answers at once, "same-index" never moves its X-Consul-Index.
func faulty(fault string) http.Handler {
	f := newFloor()
	switch fault {
	case "no-block":
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			q.Del("index")
			r.URL.RawQuery = q.Encode()
			f.ServeHTTP(w, r)
		})
	case "same-index":
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.ServeHTTP(sameIndex{w}, r) })
	}
	return f
}

// sameIndex answers every request with the floor server's first index.
type sameIndex struct{ http.ResponseWriter }

func (s sameIndex) Write(b []byte) (int, error) {
	s.Header().Set("X-Consul-Index", "1")
	return s.ResponseWriter.Write(b)
}

func TestWatchRound(t *testing.T) {
	tests := []struct {
		fault string
		err   string
	}{
		{"", ""},
		{"no-block", "answered before any change"},
		{"same-index", "not past"},
	}
	for _, tt := range tests {
		for _, kind := range []watchKind{watchHealth, watchCatalog} {
			t.Run(fmt.Sprintf("%s/%d", tt.fault, kind), func(t *testing.T) {
				srv := httptest.NewServer(faulty(tt.fault))
				defer srv.Close()
				c := newClient(strings.TrimPrefix(srv.URL, "http://"), 40)
				defer c.close()
				b := &bench{cfg: config{watchers: 30, settle: 20 * time.Millisecond, watchTimeout: 10 * time.Second}, log: testWriter{t}}
				r, err := b.watchRound(context.Background(), c, kind, "t-", 0)
				if tt.err != "" {
					if err == nil || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("err = %v, want one containing %q", err, tt.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if r.Watchers != 30 || r.Lat.N != 30 || r.FromSend.N != 30 {
					t.Fatalf("round = %+v, want 30 answers", r)
				}
				if r.FromSend.Max < r.Lat.Max || r.FromSend.P50 <= 0 || r.FromSend.Max > 10*time.Second {
					t.Fatalf("latencies from sending %+v and from the 200 %+v are inconsistent", r.FromSend, r.Lat)
				}
			})
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestPool(t *testing.T) {
	ms := time.Millisecond
	a := watchRound{Endpoint: "/x", Watchers: 3, Rounds: 1, Early: 1, Write: 2 * ms, lat: durations(0, 1, 2), send: durations(2, 3, 4),
		Use: cpuUse{Wall: 10 * ms, Server: 4 * ms, Self: 2 * ms, Known: true}}
	b := watchRound{Endpoint: "/x", Watchers: 3, Rounds: 1, Early: 0, Write: 4 * ms, lat: durations(5, 6, 90), send: durations(9, 10, 94),
		Use: cpuUse{Wall: 20 * ms, Server: 6 * ms, Self: 3 * ms, Known: true}}
	c := b
	c.Write, c.Use.Known = 9*ms, false
	got := pool([]watchRound{a, b, c})
	if got.Rounds != 3 || got.Watchers != 3 || got.Early != 1 || got.Write != 4*ms {
		t.Errorf("pool = rounds %d, watchers %d, early %d, write %v; want 3, 3, 1, 4ms", got.Rounds, got.Watchers, got.Early, got.Write)
	}
	if got.Lat.N != 9 || got.Lat.P50 != 5*ms || got.Lat.Max != 90*ms || got.FromSend.P50 != 9*ms {
		t.Errorf("pooled latencies %+v / %+v", got.Lat, got.FromSend)
	}
	if got.Use.Wall != 50*ms || got.Use.Server != 16*ms || got.Use.Known {
		t.Errorf("pooled CPU %+v: want 50ms wall, 16ms beacon, unknown (one round unknown)", got.Use)
	}
}
