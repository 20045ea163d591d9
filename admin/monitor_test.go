package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// testLogs is a LogSource the test logs into by hand.
type testLogs struct {
	mu        sync.Mutex
	followers map[*slog.Handler]slog.Level
}

func (l *testLogs) Follow(level slog.Level, h slog.Handler) func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.followers == nil {
		l.followers = map[*slog.Handler]slog.Level{}
	}
	l.followers[&h] = level
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.followers, &h)
	}
}

func (l *testLogs) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.followers)
}

func (l *testLogs) log(level slog.Level, msg string, args ...any) {
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.Add(args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	for h, min := range l.followers {
		if level >= min {
			_ = (*h).Handle(context.Background(), r)
		}
	}
}

// nextLine reads the monitor's next line, failing after a while.
func nextLine(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no log line within 5s")
	}
	return ""
}

// TestAgentMonitor: the Consul Go client's Agent().Monitor streams the
// log at the level asked for, as text or JSON, and a client that goes
// stops following.
func TestAgentMonitor(t *testing.T) {
	logs := &testLogs{}
	e := newEnv(t, Config{Logs: logs})
	// The Consul client never closes a monitor's stream; end them
	// before the server's Close waits for them.
	t.Cleanup(e.srv.CloseClientConnections)
	c := consulClient(t, e, "")

	stop := make(chan struct{})
	lines, err := c.Agent().Monitor("warn", stop, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the monitor to follow", func() bool { return logs.count() == 1 })
	logs.log(slog.LevelInfo, "below the level")
	logs.log(slog.LevelWarn, "disk slow", "component", "store")
	if got := nextLine(t, lines); !strings.Contains(got, "disk slow") || !strings.Contains(got, "level=WARN") ||
		!strings.Contains(got, "component=store") || strings.Contains(got, "below the level") {
		t.Errorf("line = %q", got)
	}
	close(stop)

	stopJSON := make(chan struct{})
	defer close(stopJSON)
	jl, err := c.Agent().MonitorJSON("TRACE", stopJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the JSON monitor to follow", func() bool { return logs.count() == 2 })
	logs.log(slog.LevelDebug, "api request", "code", 200)
	var rec map[string]any
	for {
		line := nextLine(t, jl)
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if rec["msg"] == "api request" {
			break
		}
	}
	if rec["level"] != "DEBUG" || rec["code"] != float64(200) {
		t.Errorf("record = %v", rec)
	}

	if _, err := c.Agent().Monitor("chatty", nil, nil); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "loglevel") {
		t.Errorf("unknown level: %v", err)
	}
}

// TestAgentMonitorGone: when the client goes, the monitor stops following
// the log.
func TestAgentMonitorGone(t *testing.T) {
	logs := &testLogs{}
	e := newEnv(t, Config{Logs: logs})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/agent/monitor?loglevel=info", nil)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	waitFor(t, "the monitor to follow", func() bool { return logs.count() == 1 })
	cancel()
	waitFor(t, "the monitor to stop following", func() bool { return logs.count() == 0 })
}

// TestAgentMonitorNoLog: without a log to follow, the endpoint says so.
func TestAgentMonitorNoLog(t *testing.T) {
	e := newEnv(t, Config{})
	errorLine(t, e.must(501, "GET", "/v1/agent/monitor", ""))
}
