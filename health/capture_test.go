package health

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCapture feeds arbitrary bodies to capture: short ones come back
// whole, longer ones as a note plus a prefix of at most maxShown bytes
// that never ends in a broken character.
func FuzzCapture(f *testing.F) {
	f.Add([]byte("ok"))
	f.Add([]byte(strings.Repeat("a", maxShown)))
	f.Add([]byte(strings.Repeat("a", maxShown+1)))
	f.Add([]byte(strings.Repeat("a", maxShown-1) + "é"))
	f.Fuzz(func(t *testing.T, body []byte) {
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
	})
}
