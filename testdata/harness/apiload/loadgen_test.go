package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBeacon records registrations. With failFrom > 0, it answers 500 to
// every ID numbered failFrom or more, and counts those attempts.
type fakeBeacon struct {
	mu       sync.Mutex
	ids      map[string]int
	addrs    map[string]bool
	names    map[string]int
	failFrom int
	failed   int
}

func (f *fakeBeacon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || r.URL.Path != "/v1/agent/service/register" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	var body struct {
		ID, Name, Address string
		Port              int
		Tags              []string
		Meta              map[string]string
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, err := strconv.Atoi(strings.TrimPrefix(body.ID, "p-")); err == nil && f.failFrom > 0 && n >= f.failFrom {
		f.failed++
		http.Error(w, "disk on fire", http.StatusInternalServerError)
		return
	}
	f.ids[body.ID]++
	f.addrs[body.Address] = true
	f.names[body.Name]++
}

func startFake(t *testing.T, failFrom int) (*fakeBeacon, *client) {
	t.Helper()
	f := &fakeBeacon{ids: map[string]int{}, addrs: map[string]bool{}, names: map[string]int{}, failFrom: failFrom}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := newClient(strings.TrimPrefix(srv.URL, "http://"), 8)
	t.Cleanup(c.close)
	return f, c
}

func TestRunLoad(t *testing.T) {
	tests := []struct {
		name      string
		count     int
		clients   int
		step      int
		until     time.Duration
		wantN     int
		wantSteps []int // Upto of each step
	}{
		{"count bound", 50, 4, 0, time.Minute, 50, nil},
		{"steps", 50, 4, 20, time.Minute, 50, []int{20, 40, 50}},
		{"one client", 7, 1, 7, time.Minute, 7, []int{7}},
		{"time bound", 50, 4, 0, -time.Second, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := startFake(t, 0)
			l := load{prefix: "p-", services: []string{"a", "b", "c"}, clients: tt.clients, count: tt.count,
				until: time.Now().Add(tt.until), step: tt.step}
			res, err := runLoad(context.Background(), c, l)
			if err != nil {
				t.Fatal(err)
			}
			if res.N != tt.wantN || res.Lat.N != tt.wantN || len(f.ids) != tt.wantN {
				t.Fatalf("N = %d (latencies %d), server saw %d IDs; want %d", res.N, res.Lat.N, len(f.ids), tt.wantN)
			}
			for id, n := range f.ids {
				if n != 1 || !strings.HasPrefix(id, "p-") {
					t.Errorf("ID %q registered %d times", id, n)
				}
			}
			if len(f.addrs) != tt.wantN {
				t.Errorf("%d distinct addresses for %d instances", len(f.addrs), tt.wantN)
			}
			if tt.wantN >= 3 && (f.names["a"] == 0 || f.names["b"] == 0 || f.names["c"] == 0) {
				t.Errorf("instances not spread over every service: %v", f.names)
			}
			var upto []int
			total := 0
			for _, s := range res.Steps {
				upto = append(upto, s.Upto)
				total += s.N
				if s.Elapsed <= 0 || s.Lat.N != s.N {
					t.Errorf("step %+v: no time or latencies", s)
				}
			}
			if len(upto) != len(tt.wantSteps) || (len(upto) > 0 && total != tt.wantN) {
				t.Fatalf("steps up to %v (total %d), want %v", upto, total, tt.wantSteps)
			}
			for i := range upto {
				if upto[i] != tt.wantSteps[i] {
					t.Fatalf("steps up to %v, want %v", upto, tt.wantSteps)
				}
			}
		})
	}
}

func TestRunLoadStopsOnFailure(t *testing.T) {
	const clients = 4
	f, c := startFake(t, 7)
	l := load{prefix: "p-", services: []string{"a"}, clients: clients, count: 1000, until: time.Now().Add(time.Minute)}
	_, err := runLoad(context.Background(), c, l)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v, want the 500 and its message", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Once the failure is seen, no client starts another registration;
	// those in flight, and a few started while the failing client was
	// not yet scheduled, may still fail. A run that goes on fails ~993.
	if f.failed > 3*clients || len(f.ids) > 7 {
		t.Errorf("%d failed attempts and %d registrations; the run should stop at the first failure", f.failed, len(f.ids))
	}
}

func TestRegistrationBody(t *testing.T) {
	var got struct {
		ID, Name, Address string
		Port              int
		Tags              []string
		Meta              map[string]string
	}
	b := registration(nil, "run-", 70000, "run-svc-0003")
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got.ID != "run-70000" || got.Name != "run-svc-0003" || got.Address != "10.1.17.112" || got.Port != 8080 ||
		len(got.Tags) != 1 || got.Meta["version"] != "1" {
		t.Fatalf("registration = %+v", got)
	}
	if names := serviceNames("r-", 3); strings.Join(names, ",") != "r-svc-0000,r-svc-0001,r-svc-0002" {
		t.Fatalf("serviceNames = %v", names)
	}
}
