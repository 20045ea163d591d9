package admin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// TestRegistrationFixtures registers the shared fixtures in ../testdata,
// the bodies the README and the end-to-end tests use, and checks what the
// store made of each.
func TestRegistrationFixtures(t *testing.T) {
	cases := []struct {
		file, id string
		check    func(t *testing.T, in *store.Instance)
	}{
		{"register-web.json", "web1", func(t *testing.T, in *store.Instance) {
			if in.ID != "web1" || in.Name != "web" || in.Address != "10.0.0.5" || in.Port != 8080 || !slices.Equal(in.Tags, []string{"v1"}) {
				t.Errorf("instance = %+v", in)
			}
			if in.Health != store.Passing || len(in.Checks) != 0 {
				t.Errorf("an instance without checks must be passing, got %s with %d checks", in.Health, len(in.Checks))
			}
		}},
		{"register-consul-full.json", "api-1", func(t *testing.T, in *store.Instance) {
			if in.Weights != (store.Weights{Passing: 10, Warning: 1}) || in.Meta["version"] != "2.4.1" {
				t.Errorf("weights %+v meta %v", in.Weights, in.Meta)
			}
			ids := []string{}
			for _, c := range in.Checks {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, []string{"api-1-heartbeat", "service:api-1:1", "service:api-1:2"}) {
				t.Fatalf("check IDs = %v", ids)
			}
			h, tcp, ttl := in.Checks[1], in.Checks[2], in.Checks[0]
			if h.Kind != store.KindHTTP || h.Interval != 10*time.Second || h.Timeout != 2*time.Second ||
				h.SuccessBeforePassing != 2 || h.FailuresBeforeCritical != 3 || h.Header["Accept"][0] != "application/json" {
				t.Errorf("HTTP check = %+v", h)
			}
			if tcp.Kind != store.KindTCP || tcp.TCP != "10.0.0.6:9090" || tcp.Timeout != 5*time.Second {
				t.Errorf("TCP check = %+v (timeout must be lowered to the interval)", tcp)
			}
			if ttl.Kind != store.KindTTL || ttl.TTL != 30*time.Second || ttl.Status != store.Passing || ttl.DeregisterCriticalServiceAfter != time.Minute {
				t.Errorf("TTL check = %+v", ttl)
			}
		}},
		{"register-snake-case.json", "db-1", func(t *testing.T, in *store.Instance) {
			if in.ID != "db-1" || in.Address != "db-1.internal.example" || in.Addr.IsValid() || in.Port != 5432 {
				t.Errorf("instance = %+v", in)
			}
			if len(in.Checks) != 1 || in.Checks[0].TCP != "db-1.internal.example:5432" || in.Checks[0].DeregisterCriticalServiceAfter != 90*time.Second {
				t.Errorf("checks = %+v", in.Checks)
			}
		}},
	}
	e := newEnv(t, Config{})
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("..", "testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			r := e.with(t).do("PUT", "/v1/agent/service/register", string(body))
			if r.code != 200 {
				t.Fatalf("register: %d %s", r.code, r.body)
			}
			in := e.st.Snapshot().Instance(tc.id)
			if in == nil {
				t.Fatalf("instance %s not registered", tc.id)
			}
			tc.check(t, in)
		})
	}
}

// TestCatalogServicesEncodedOnce checks that the shared encoding of
// /v1/catalog/services is what encoding the map would give, and that it
// follows catalog changes but not health changes.
func TestCatalogServicesEncodedOnce(t *testing.T) {
	e := newEnv(t, Config{})
	reg := func(body string) {
		if r := e.do("PUT", "/v1/agent/service/register", body); r.code != 200 {
			t.Fatalf("register: %d %s", r.code, r.body)
		}
	}
	want := func(m map[string][]string) {
		t.Helper()
		b, _ := json.Marshal(m)
		if r := e.do("GET", "/v1/catalog/services", ""); r.code != 200 || strings.TrimSpace(r.body) != string(b) {
			t.Fatalf("catalog/services = %d %s, want %s", r.code, r.body, b)
		}
	}
	want(map[string][]string{})
	reg(`{"ID":"w1","Name":"web","Tags":["v<1>","é"],"Check":{"TTL":"30s"}}`)
	reg(`{"ID":"d1","Name":"db"}`)
	want(map[string][]string{"web": {"v<1>", "é"}, "db": {}})
	shared := func() *sharedBody { b, _ := e.api.shared.c.Get("catalog/services"); return b }
	first := shared()
	if r := e.do("PUT", "/v1/agent/check/pass/service:w1", ""); r.code != 200 {
		t.Fatal(r.body)
	}
	want(map[string][]string{"web": {"v<1>", "é"}, "db": {}})
	if shared() != first {
		t.Error("a health change re-encoded the catalog")
	}
	reg(`{"ID":"d1","Name":"db","Tags":["primary"]}`)
	want(map[string][]string{"web": {"v<1>", "é"}, "db": {"primary"}})
}

// TestSharedServiceAnswers checks that per-service answers encoded once
// per change match a fresh encoding, keep ?passing and ?tag apart, and
// follow every visible change.
func TestSharedServiceAnswers(t *testing.T) {
	e := newEnv(t, Config{})
	for _, body := range []string{
		`{"ID":"w1","Name":"web","Tags":["a"],"Check":{"TTL":"30s","Status":"passing"}}`,
		`{"ID":"w2","Name":"web","Tags":["b"],"Check":{"TTL":"30s"}}`,
	} {
		if r := e.do("PUT", "/v1/agent/service/register", body); r.code != 200 {
			t.Fatal(r.body)
		}
	}
	compact := func(path string) string {
		r := e.do("GET", path+"&pretty", "")
		var v any
		json.Unmarshal([]byte(r.body), &v)
		b, _ := json.Marshal(v)
		return string(b)
	}
	check := func(path string, wantIDs int) {
		t.Helper()
		r := e.do("GET", path, "")
		var v []any
		if err := json.Unmarshal([]byte(r.body), &v); err != nil || len(v) != wantIDs {
			t.Fatalf("%s: %d entries (%v), want %d", path, len(v), err, wantIDs)
		}
		var got any
		json.Unmarshal([]byte(r.body), &got)
		b, _ := json.Marshal(got)
		if fresh := compact(path); string(b) != fresh {
			t.Errorf("%s: shared answer\n%s\ndiffers from a fresh one\n%s", path, b, fresh)
		}
	}
	for i := 0; i < 2; i++ { // the second round is served from the shared copy
		check("/v1/health/service/web?x", 2)
		check("/v1/health/service/web?passing", 1)
		check("/v1/health/service/web?tag=b", 1)
		check("/v1/catalog/service/web?tag=A", 1)
	}
	if r := e.do("PUT", "/v1/agent/check/pass/service:w2", ""); r.code != 200 {
		t.Fatal(r.body)
	}
	check("/v1/health/service/web?passing", 2)
}
