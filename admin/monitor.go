package admin

import (
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// LogSource lets GET /v1/agent/monitor follow the server's log. cmd/beacon
// implements it with the handler at the root of its logger.
type LogSource interface {
	// Follow passes every record at level or above to h until stop is
	// called. It calls h from whatever goroutine logs, so h must not
	// block.
	Follow(level slog.Level, h slog.Handler) (stop func())
}

// monitorBuffer is how many log lines a slow monitor client may fall
// behind before lines are dropped; logging never waits for a client.
const monitorBuffer = 512

// monitorLevel reads ?loglevel= as Consul does (trace, debug, info, warn,
// err or error, in any case; info when absent). Trace is debug here.
func monitorLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "trace", "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "err", "error":
		return slog.LevelError, nil
	}
	return 0, badRequest("loglevel: %s is not a log level; use trace, debug, info, warn or error", quote(s))
}

// agentMonitor is GET /v1/agent/monitor?loglevel=&logjson: the server's
// log from now on, one record per line (JSON with ?logjson), until the
// client goes or the server stops, as `consul monitor` reads it.
func (a *API) agentMonitor(w http.ResponseWriter, r *http.Request) error {
	level, err := monitorLevel(r.URL.Query().Get("loglevel"))
	if err != nil {
		return err
	}
	if a.cfg.Logs == nil {
		return errorf(http.StatusNotImplemented, "this beacon has no log to follow")
	}
	lines := &lineSink{ch: make(chan []byte, monitorBuffer)}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(lines, opts)
	if r.URL.Query().Has("logjson") {
		h = slog.NewJSONHandler(lines, opts)
	}
	stop := a.cfg.Logs.Follow(level, h)
	defer stop()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			a.noteDropped(lines)
			return nil
		case line := <-lines.ch:
			// Each write gets its own deadline: the stream has no end.
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := w.Write(line); err != nil {
				a.noteDropped(lines)
				return nil
			}
			if len(lines.ch) == 0 {
				_ = rc.Flush()
			}
		}
	}
}

// noteDropped logs how many lines a monitor client missed.
func (a *API) noteDropped(l *lineSink) {
	if n := l.dropped.Load(); n > 0 {
		a.log.Warn("a log monitor fell behind and missed lines", "dropped", n)
	}
}

// lineSink is the io.Writer of a monitor's handler: each Write is one
// record, queued for the client, or dropped when the queue is full.
type lineSink struct {
	ch      chan []byte
	dropped atomic.Int64
}

func (l *lineSink) Write(p []byte) (int, error) {
	select {
	case l.ch <- append([]byte(nil), p...):
	default:
		l.dropped.Add(1)
	}
	return len(p), nil
}
