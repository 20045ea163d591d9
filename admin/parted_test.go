package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAgentReadsShareOneEncoding: eight concurrent GET /v1/agent/services
// (and agent/checks) over real sockets are answered from one build, and
// a later change re-encodes only the service it touched. The shared
// answer is the one the per-request path gives.
func TestAgentReadsShareOneEncoding(t *testing.T) {
	cases := []struct {
		path, all string // all: a filter every entry passes, which takes the per-request path
		answer    func(a *API) *partedAnswer
	}{
		{"/v1/agent/services", `ID != ""`, func(a *API) *partedAnswer { return a.agentServicesAll }},
		{"/v1/agent/checks", `CheckID != ""`, func(a *API) *partedAnswer { return a.agentChecksAll }},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			e := newEnv(t, Config{})
			for i := range 20 {
				e.register(fmt.Sprintf(`{"ID":"i%d","Name":"svc%d","Address":"10.0.0.%d","Port":80,"Tags":["t<&>"],"Check":{"TTL":"30s"}}`, i, i%5, i+1))
			}
			p := c.answer(e.api)
			const readers = 8
			// Hold the build until every reader has asked for the answer.
			p.building = func() {
				deadline := time.Now().Add(10 * time.Second)
				for p.reads.load() < readers && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
			}
			bodies := make([]string, readers)
			var wg sync.WaitGroup
			for i := range readers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := e.do("GET", c.path, "")
					if r.code != http.StatusOK {
						t.Errorf("%s: %d %s", c.path, r.code, r.body)
					}
					bodies[i] = r.body
				}()
			}
			wg.Wait()
			p.building = nil
			if got := p.builds.load(); got != 1 {
				t.Errorf("%d concurrent readers caused %d builds, want 1", readers, got)
			}
			if got := p.encoded.load(); got != 5 {
				t.Errorf("the build encoded %d service parts, want 5", got)
			}
			for _, b := range bodies[1:] {
				if b != bodies[0] {
					t.Fatalf("readers got different answers")
				}
			}
			var shared, fresh map[string]any
			decode(t, reply{body: bodies[0]}, &shared)
			decode(t, e.must(200, "GET", c.path+"?filter="+url.QueryEscape(c.all), ""), &fresh)
			if len(shared) != 20 || !reflect.DeepEqual(shared, fresh) {
				t.Errorf("shared answer (%d entries) differs from the per-request one (%d entries)", len(shared), len(fresh))
			}

			// A read at the same index builds nothing; a change to one
			// service re-encodes that service alone.
			e.must(200, "GET", c.path, "")
			if p.builds.load() != 1 {
				t.Errorf("a read with nothing changed built again")
			}
			e.register(`{"ID":"i0","Name":"svc0","Address":"10.0.9.9","Port":81,"Check":{"TTL":"30s"}}`)
			decode(t, e.must(200, "GET", c.path, ""), &shared)
			if p.builds.load() != 2 || p.encoded.load() != 6 {
				t.Errorf("after one change: %d builds and %d parts encoded, want 2 and 6", p.builds.load(), p.encoded.load())
			}
			decode(t, e.must(200, "GET", c.path+"?filter="+url.QueryEscape(c.all), ""), &fresh)
			if !reflect.DeepEqual(shared, fresh) {
				t.Errorf("after a change the shared answer is stale")
			}
		})
	}
}

// TestAgentServicesLargeAnswer: the streamed answer decodes in the
// Consul Go client, with Content-Length right, and an empty registry is
// {}.
func TestAgentServicesLargeAnswer(t *testing.T) {
	e := newEnv(t, Config{})
	c := consulClient(t, e, "")
	if svcs, err := c.Agent().Services(); err != nil || len(svcs) != 0 {
		t.Fatalf("empty registry: %v, %v", svcs, err)
	}
	if r := e.must(200, "GET", "/v1/agent/services", ""); r.body != "{}\n" || r.header.Get("Content-Length") != "3" {
		t.Errorf("empty answer %q, Content-Length %s", r.body, r.header.Get("Content-Length"))
	}
	for i := range 300 {
		e.register(fmt.Sprintf(`{"ID":"n%d","Name":"svc%d","Port":%d}`, i, i%7, i))
	}
	svcs, err := c.Agent().Services()
	if err != nil || len(svcs) != 300 || svcs["n42"].Port != 42 {
		t.Fatalf("Agent().Services() = %d, %v", len(svcs), err)
	}
	checks, err := c.Agent().Checks()
	if err != nil || len(checks) != 0 {
		t.Errorf("Agent().Checks() = %v, %v", checks, err)
	}
	if r := e.must(200, "GET", "/v1/agent/services", ""); r.header.Get("Content-Length") != fmt.Sprint(len(r.body)) || !json.Valid([]byte(r.body)) {
		t.Errorf("Content-Length %s for %d bytes", r.header.Get("Content-Length"), len(r.body))
	}
}

// TestCheckListsShared: health/state/:state and health/node/:node
// unfiltered (shared, streamed) hold the same checks as the per-request
// path, the node's serfHealth first where the state includes it.
func TestCheckListsShared(t *testing.T) {
	e := newEnv(t, Config{})
	for i := range 12 {
		e.register(fmt.Sprintf(`{"ID":"i%d","Name":"svc%d","Port":80,"Checks":[{"CheckID":"i%d-a","TTL":"30s","Status":"passing"},{"CheckID":"i%d-b","TTL":"30s"}]}`, i, i%4, i, i))
	}
	e.must(200, "PUT", "/v1/agent/check/warn/i3-a", "")
	ids := func(path string) []string {
		var cs []checkJSON
		decode(t, e.must(200, "GET", path, ""), &cs)
		var out []string
		for _, c := range cs {
			out = append(out, c.CheckID+"="+c.Status)
		}
		return out
	}
	for _, path := range []string{"/v1/health/state/any", "/v1/health/state/passing", "/v1/health/state/warning", "/v1/health/state/critical", "/v1/health/node/node1"} {
		shared := ids(path)
		fresh := ids(path + "?filter=" + url.QueryEscape(`CheckID != ""`))
		withSerf := !strings.Contains(path, "warning") && !strings.Contains(path, "critical")
		if withSerf != (len(shared) > 0 && shared[0] == "serfHealth=passing") {
			t.Errorf("%s: serfHealth first = %v, want %v: %v", path, !withSerf, withSerf, shared)
		}
		slices.Sort(shared)
		slices.Sort(fresh)
		if !slices.Equal(shared, fresh) || len(shared) == 0 {
			t.Errorf("%s: shared %v\nper-request %v", path, shared, fresh)
		}
	}
	if n := len(ids("/v1/health/state/critical")); n != 12 {
		t.Errorf("critical: %d checks, want 12", n)
	}
}
