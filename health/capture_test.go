package health

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCapture feeds arbitrary bodies to capture: short ones come back
// whole, longer ones as a note plus a prefix of at most maxShown bytes
// that never ends in a broken character. A body is head, then pad bytes
// of filler, then tail, so that the fuzzer's inputs stay small (it slows
// to a crawl on multi-kilobyte inputs) while bodies reach past maxShown
// and maxCounted.
func FuzzCapture(f *testing.F) {
	f.Add([]byte("ok"), uint32(0), []byte(""))
	f.Add([]byte(""), uint32(maxShown-1), []byte("é"))
	f.Add([]byte("\xff"), uint32(maxCounted), []byte("end"))
	f.Fuzz(func(t *testing.T, head []byte, pad uint32, tail []byte) {
		body := append(append(bytes.Clone(head), bytes.Repeat([]byte{'a'}, int(pad%(2*maxCounted)))...), tail...)
		got, err := capture(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("capture: %v", err)
		}
		if len(body) <= maxShown {
			if got != string(body) {
				t.Fatalf("short body changed: %q → %q", body, got)
			}
			return
		}
		note, shown, ok := strings.Cut(got, "\n...\n")
		if !ok || !strings.HasPrefix(note, "Captured ") {
			t.Fatalf("long body without the note: %q", got[:min(len(got), 80)])
		}
		if len(shown) > maxShown || len(shown) < maxShown-utf8.UTFMax || !bytes.HasPrefix(body, []byte(shown)) {
			t.Fatalf("shown %d bytes, not a prefix of at most %d", len(shown), maxShown)
		}
		if utf8.Valid(body) && !utf8.ValidString(shown) {
			t.Fatalf("valid body cut into invalid UTF-8")
		}
		wantMore := len(body) > maxCounted
		if more := strings.Contains(note, "more than"); more != wantMore {
			t.Fatalf("body of %d bytes: note %q", len(body), note)
		}
	})
}
