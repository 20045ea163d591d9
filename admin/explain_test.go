package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// explainFor reads GET /v1/beacon/explain/:name and returns it with its
// instances by ID.
func (e *env) explainFor(t *testing.T, path string) (explainJSON, map[string]instanceExplainJSON) {
	t.Helper()
	var x explainJSON
	decode(t, e.must(http.StatusOK, "GET", path, ""), &x)
	by := map[string]instanceExplainJSON{}
	for _, in := range x.Instances {
		by[in.ID] = in
	}
	return x, by
}

// hasReason reports whether one of the reasons holds every part.
func hasReason(reasons []string, parts ...string) bool {
	for _, r := range reasons {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(r, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestExplainReasons breaks instances in every way explain must report
// and reads its reasons, DNS membership and TTL for each.
func TestExplainReasons(t *testing.T) {
	policy := store.DNSPolicy{OnlyPassing: true, TTL: 30 * time.Second, WarningTTL: 5 * time.Second}
	e := newEnv(t, Config{Policy: policy})
	e.register(`{"ID":"ok","Name":"web","Address":"10.0.0.1","Port":80,"Tags":["blue"]}`)
	e.register(`{"ID":"failing","Name":"web","Address":"10.0.0.2","Port":80,"Tags":["blue"],"Check":{"TTL":"30s","Status":"passing"}}`)
	e.must(200, "PUT", "/v1/agent/check/fail/service:failing?note=connection+refused", "")
	e.register(`{"ID":"maint","Name":"web","Address":"10.0.0.3","Port":80,"Tags":["blue"]}`)
	e.must(200, "PUT", "/v1/agent/service/maintenance/maint?enable=true&reason=disk+swap", "")
	e.register(`{"ID":"warn","Name":"web","Address":"10.0.0.4","Port":80,"Tags":["blue"],"Check":{"TTL":"30s","Status":"warning","Output":"slow"}}`)
	e.register(`{"ID":"green","Name":"web","Address":"10.0.0.5","Port":80,"Tags":["green"],"Check":{"HTTP":"http://127.0.0.1:1/","Interval":"7s","Status":"passing"}}`)
	e.register(`{"ID":"ttl","Name":"web","Address":"10.0.0.6","Port":80,"Tags":["blue"],"Check":{"TTL":"20s","Status":"passing"}}`)

	x, by := e.explainFor(t, "/v1/beacon/explain/web")
	if x.Service != "web" || x.Panic || len(x.Instances) != 6 {
		t.Fatalf("explain web: %+v", x)
	}
	cases := []struct {
		id      string
		inDNS   bool
		ttl     int64
		reasons []string // parts of one reason
		caps    []string // parts of one TTL cap
	}{
		{"ok", true, 30, nil, []string{"-ttl 30s"}},
		{"failing", false, 0, []string{`check "service:failing" is critical since`, "connection refused"}, nil},
		{"maint", false, 0, []string{"maintenance mode", "disk swap"}, nil},
		{"warn", false, 0, []string{`check "service:warn" is warning`, "-only-passing", "slow"}, nil},
		{"green", true, 7, nil, []string{`interval 7s of check "service:green"`}},
		{"ttl", true, 20, nil, []string{`TTL check "service:ttl" expires in`}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			got, ok := by[c.id]
			if !ok {
				t.Fatalf("no explanation of %s", c.id)
			}
			if got.InDNS != c.inDNS {
				t.Errorf("InDNS %v, want %v (%+v)", got.InDNS, c.inDNS, got)
			}
			if c.ttl != 0 && (got.TTL > c.ttl || got.TTL < c.ttl-2) || c.ttl == 0 && got.TTL != 0 {
				t.Errorf("TTL %d, want %d", got.TTL, c.ttl)
			}
			if c.reasons != nil && !hasReason(got.Reasons, c.reasons...) {
				t.Errorf("reasons %q lack one with %q", got.Reasons, c.reasons)
			}
			if c.reasons == nil && len(got.Reasons) != 0 {
				t.Errorf("reasons %q for a healthy instance", got.Reasons)
			}
			if c.caps != nil && !hasReason(got.TTLCaps, c.caps...) {
				t.Errorf("TTL caps %q lack one with %q", got.TTLCaps, c.caps)
			}
			if got.Reasons == nil || got.TTLCaps == nil {
				t.Errorf("null lists in %+v", got)
			}
		})
	}

	// The tag asked: instances without it are out, and say so.
	x, by = e.explainFor(t, "/v1/beacon/explain/WEB?tag=green")
	if x.Tag != "green" || !by["green"].InDNS || by["ok"].InDNS || !hasReason(by["ok"].Reasons, `tag "green"`) {
		t.Errorf("explain ?tag=green: %+v", x)
	}
}

// TestExplainWarningTTL: without -only-passing a warning instance is in
// DNS at -warning-ttl, and the reason says it is warning.
func TestExplainWarningTTL(t *testing.T) {
	e := newEnv(t, Config{Policy: store.DNSPolicy{TTL: 30 * time.Second, WarningTTL: 4 * time.Second}})
	e.register(`{"ID":"warn","Name":"web","Address":"10.0.0.4","Port":80,"Check":{"TTL":"30s","Status":"warning"}}`)
	_, by := e.explainFor(t, "/v1/beacon/explain/web")
	w := by["warn"]
	if !w.InDNS || w.TTL != 4 || !hasReason(w.Reasons, "warning") || !hasReason(w.TTLCaps, "-warning-ttl 4s") {
		t.Errorf("warning instance: %+v", w)
	}
}

// TestExplainPanic pushes a service under -panic-threshold: every
// instance not in maintenance is in DNS at -warning-ttl, and each says
// why.
func TestExplainPanic(t *testing.T) {
	e := newEnv(t, Config{Policy: store.DNSPolicy{PanicThreshold: 0.5, TTL: 30 * time.Second, WarningTTL: 5 * time.Second}})
	for i, status := range []string{"passing", "critical", "critical"} {
		e.register(`{"ID":"web` + string(rune('1'+i)) + `","Name":"web","Address":"10.0.0.` + string(rune('1'+i)) + `","Check":{"TTL":"1m","Status":"` + status + `"}}`)
	}
	e.register(`{"ID":"web4","Name":"web","Address":"10.0.0.4"}`)
	e.must(200, "PUT", "/v1/agent/service/maintenance/web4?enable=true", "")
	x, by := e.explainFor(t, "/v1/beacon/explain/web")
	if !x.Panic {
		t.Fatalf("1 of 3 healthy is below 0.5, yet no panic: %+v", x)
	}
	for _, id := range []string{"web1", "web2", "web3"} {
		if !by[id].InDNS || by[id].TTL != 5 || !hasReason(by[id].TTLCaps, "panic") {
			t.Errorf("%s in panic mode: %+v", id, by[id])
		}
	}
	if !hasReason(by["web2"].Reasons, "panic mode", "-panic-threshold 0.5") {
		t.Errorf("web2 does not say panic mode lets it in: %q", by["web2"].Reasons)
	}
	if by["web4"].InDNS {
		t.Errorf("panic mode let an instance in maintenance in: %+v", by["web4"])
	}
	// Back over the threshold: panic mode ends.
	e.must(200, "PUT", "/v1/agent/check/pass/service:web2", "")
	if x, by = e.explainFor(t, "/v1/beacon/explain/web"); x.Panic || by["web3"].InDNS {
		t.Errorf("2 of 3 healthy is over 0.5, yet %+v", x)
	}
}

func TestExplainErrors(t *testing.T) {
	e := newEnv(t, Config{Token: "s3cret"})
	r := e.do("GET", "/v1/beacon/explain/nope", "", "X-Consul-Token", "s3cret")
	if r.code != http.StatusNotFound || !strings.Contains(r.body, `"nope"`) {
		t.Errorf("unknown service: %d %q", r.code, r.body)
	}
	errorLine(t, r)
	for _, path := range []string{"/v1/beacon/explain/web", "/v1/beacon/history/web1"} {
		if r := e.do("GET", path, ""); r.code != http.StatusForbidden {
			t.Errorf("%s without the token: %d", path, r.code)
		}
	}
	if r := e.do("PUT", "/v1/beacon/explain/web", "", "X-Consul-Token", "s3cret"); r.code != http.StatusMethodNotAllowed {
		t.Errorf("PUT explain: %d", r.code)
	}
}
