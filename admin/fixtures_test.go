package admin

import (
	"os"
	"path/filepath"
	"slices"
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
