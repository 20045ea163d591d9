package admin

import (
	"fmt"
	"testing"
	"time"
)

// TestHashBlocking: agent/service/:id blocks on ?hash= as Consul's does.
func TestHashBlocking(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	r := e.must(200, "GET", "/v1/agent/service/web1", "")
	hash := r.header.Get("X-Consul-ContentHash")
	p := e.start("/v1/agent/service/web1?hash=" + hash + "&wait=20s")
	e.parkedAtLeast(1)
	e.register(`{"ID":"web2","Name":"web","Address":"10.0.0.2","Port":9999}`) // same service, other instance
	p.still(t)
	e.register(`{"ID":"web1","Name":"web","Address":"10.0.0.1","Port":8081}`)
	got := p.wait(t, 2*time.Second)
	if got.header.Get("X-Consul-ContentHash") == hash {
		t.Errorf("hash unchanged after the instance changed")
	}
	p = e.start("/v1/agent/service/web1?hash=" + got.header.Get("X-Consul-ContentHash") + "&wait=20s")
	e.parkedAtLeast(1)
	e.must(200, "PUT", "/v1/agent/service/deregister/web1", "")
	if r := p.wait(t, 2*time.Second); r.code != 404 {
		t.Errorf("after deregistration: %d %q, want 404", r.code, r.body)
	}
}

// TestAgentServiceIgnoresIndex: Consul's agent/service/:id blocks on
// ?hash= only (agent_endpoint.go AgentService passes just the hash to
// LocalBlockingQuery), so a client that sends ?index, or an empty ?hash=,
// is answered at once.
func TestAgentServiceIgnoresIndex(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	idx := indexOf(t, e.must(200, "GET", "/v1/health/service/web", ""))
	for _, path := range []string{
		fmt.Sprintf("/v1/agent/service/web1?index=%d&wait=20s", idx),
		fmt.Sprintf("/v1/agent/service/web1?index=%d&wait=20s", idx+1000),
		"/v1/agent/service/web1?hash=&wait=20s",
	} {
		p := e.start(path)
		if r := p.wait(t, 2*time.Second); r.code != 200 || r.header.Get("X-Consul-ContentHash") == "" {
			t.Errorf("%s: %d %q", path, r.code, r.body)
		}
	}
}

// TestParseWait: ?wait= in the forms clients send (the Go client sends
// milliseconds, "120000ms"), capped later by the 10m maximum.
func TestParseWait(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"120000ms", 2 * time.Minute, true},
		{"1m30s", 90 * time.Second, true},
		{"45", 45 * time.Second, true},
		{"soon", 0, false},
		{"-1s", 0, false},
	}
	for _, c := range cases {
		got, err := parseWait(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseWait(%q) = %s, %v; want %s, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
