package admin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// envOn is an API over the store in dir, served on 127.0.0.1; close ends
// both, as a restart of beacon would.
func envOn(t *testing.T, dir string) (e *env, close func()) {
	t.Helper()
	st := openStore(t, dir)
	api := New(Config{Logger: quietLogger()}, st)
	srv := httptest.NewServer(api.Handler())
	closed := false
	close = func() {
		if !closed {
			closed = true
			srv.Close()
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(close)
	return &env{t: t, st: st, api: api, srv: srv}, close
}

func (e *env) historyOf(t *testing.T, id string) []transitionJSON {
	t.Helper()
	var h []transitionJSON
	decode(t, e.must(http.StatusOK, "GET", "/v1/beacon/history/"+id, ""), &h)
	return h
}

// summary writes transitions as "from>to check output", newest first.
func summary(h []transitionJSON) string {
	var parts []string
	for _, tr := range h {
		parts = append(parts, fmt.Sprintf("%s>%s %s %s", tr.From, tr.To, tr.CheckID, tr.Output))
	}
	return strings.Join(parts, "; ")
}

// TestHistoryAcrossRestart: transitions are answered newest first, with
// the check and its output, and still there after the store is closed
// and opened again.
func TestHistoryAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e, stop := envOn(t, dir)
	e.register(`{"ID":"job1","Name":"job","Address":"10.0.0.8","Check":{"TTL":"1m","Status":"passing"}}`)
	if h := e.historyOf(t, "job1"); len(h) != 0 {
		t.Fatalf("history of a fresh instance: %+v", h)
	}
	e.must(200, "PUT", "/v1/agent/check/fail/service:job1?note=disk+full", "")
	e.must(200, "PUT", "/v1/agent/check/warn/service:job1?note=disk+at+95%25", "")
	e.must(200, "PUT", "/v1/agent/check/pass/service:job1?note=ok", "")
	e.must(200, "PUT", "/v1/agent/service/maintenance/job1?enable=true&reason=reboot", "")
	want := "passing>critical _service_maintenance:job1 reboot; " +
		"warning>passing service:job1 ok; " +
		"critical>warning service:job1 disk at 95%; " +
		"passing>critical service:job1 disk full"
	h := e.historyOf(t, "job1")
	if got := summary(h); got != want {
		t.Fatalf("history\n%s\nwant\n%s", got, want)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Time.After(h[i-1].Time) || h[i].Time.IsZero() {
			t.Errorf("not newest first: %v after %v", h[i].Time, h[i-1].Time)
		}
	}
	stop()

	e, _ = envOn(t, dir)
	if got := summary(e.historyOf(t, "job1")); got != want {
		t.Fatalf("after a restart, history\n%s\nwant\n%s", got, want)
	}
	body := e.page(t, "/ui/instances/job1")
	for _, s := range []string{"disk full", "disk at 95%", "reboot", `<span class="passing">passing</span> → <span class="critical">critical</span>`} {
		if !strings.Contains(body, s) {
			t.Errorf("the instance page lacks %q of its history", s)
		}
	}
	// A deregistered instance keeps its history for a while, so one can
	// read why it went away.
	e.must(200, "PUT", "/v1/agent/service/deregister/job1", "")
	if h := e.historyOf(t, "job1"); len(h) != 4 {
		t.Errorf("after deregistration, %d transitions", len(h))
	}
	body = e.page(t, "/ui/instances/job1")
	if !strings.Contains(body, "no longer registered") || !strings.Contains(body, "disk full") {
		t.Errorf("the page of a deregistered instance does not show its history")
	}
}

// TestHistoryBound: only the last 100 transitions are kept, the newest.
func TestHistoryBound(t *testing.T) {
	e, _ := envOn(t, t.TempDir())
	e.register(`{"ID":"flap","Name":"flap","Address":"10.0.0.9","Check":{"TTL":"1m","Status":"passing"}}`)
	for i := range 130 {
		verb := "fail"
		if i%2 == 1 {
			verb = "pass"
		}
		e.must(200, "PUT", fmt.Sprintf("/v1/agent/check/%s/service:flap?note=n%d", verb, i), "")
	}
	h := e.historyOf(t, "flap")
	if len(h) != 100 || h[0].Output != "n129" || h[99].Output != "n30" {
		t.Errorf("%d transitions, newest %q, oldest %q; want 100 from n129 to n30", len(h), h[0].Output, h[len(h)-1].Output)
	}
}

func TestHistoryUnknown(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.do("GET", "/v1/beacon/history/nope", "")
	if r.code != http.StatusNotFound || !strings.Contains(r.body, `"nope"`) {
		t.Errorf("unknown ID: %d %q", r.code, r.body)
	}
	errorLine(t, r)
	e.register(`{"ID":"quiet","Name":"quiet","Address":"10.0.0.1"}`)
	if r := e.must(200, "GET", "/v1/beacon/history/quiet", ""); strings.TrimSpace(r.body) != "[]" {
		t.Errorf("an instance without transitions: %q, want []", r.body)
	}
}
