package testkit

import (
	"bytes"
	"strings"
	"sync"
)

// logWriter keeps the tail of a process's output and reads the addresses
// beacon logs at start:
//
//	level=INFO msg="dns listening" udp=127.0.0.1:41234 tcp=127.0.0.1:41234 ...
//	level=INFO msg="http listening" addr=127.0.0.1:41235 scheme=http ...
//
// The second line comes last in a start, once every listener is bound, so
// it also marks the start as done. Safe for concurrent use.
type logWriter struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	partial   []byte // an unfinished line not yet read for addresses
	dns, http string
	listening chan struct{} // closed at the "http listening" line
}

func newLogWriter(max int) *logWriter {
	return &logWriter{max: max, listening: make(chan struct{})}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > 2*w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	if w.http != "" {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.readLineLocked(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > w.max {
		w.partial = nil
	}
	return len(p), nil
}

// readLineLocked takes the addresses from one line of the start-up log;
// w.mu is held.
func (w *logWriter) readLineLocked(line string) {
	switch {
	case strings.Contains(line, `msg="dns listening"`):
		w.dns = logValue(line, "udp")
	case strings.Contains(line, `msg="http listening"`):
		if w.http = logValue(line, "addr"); w.http != "" {
			close(w.listening)
		}
	}
}

// logValue is the value of key in a slog text line.
func logValue(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// addrs are the DNS and HTTP addresses read so far.
func (w *logWriter) addrs() (dns, http string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dns, w.http
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf[max(0, len(w.buf)-w.max):])
}
