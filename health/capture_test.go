package health

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/beacon-dns/beacon/store"
)

// FuzzCapture feeds arbitrary bodies to capture and excerpt with room for
// any share of the output cap: bodies that fit come back whole, longer
// ones as Consul's note plus a prefix that never ends in a broken
// character, and the whole never exceeds the room. A body is head, then
// pad bytes of filler, then tail, so that the fuzzer's inputs stay small
// (it slows to a crawl on multi-kilobyte inputs) while bodies reach past
// the cap.
func FuzzCapture(f *testing.F) {
	f.Add([]byte("ok"), uint32(0), []byte(""), uint16(store.MaxOutputLen))
	f.Add([]byte(""), uint32(store.MaxOutputLen-1), []byte("é"), uint16(store.MaxOutputLen))
	f.Add([]byte("\xff"), uint32(64<<10), []byte("end"), uint16(100))
	f.Fuzz(func(t *testing.T, head []byte, pad uint32, tail []byte, room uint16) {
		body := append(append(bytes.Clone(head), bytes.Repeat([]byte{'a'}, int(pad%(128<<10)))...), tail...)
		buf := make([]byte, store.MaxOutputLen)
		kept, total, err := capture(bytes.NewReader(body), buf)
		if err != nil {
			t.Fatalf("capture: %v", err)
		}
		if total != int64(len(body)) || kept != min(len(body), len(buf)) || !bytes.Equal(buf[:kept], body[:kept]) {
			t.Fatalf("body of %d bytes: kept %d, counted %d", len(body), kept, total)
		}
		r := int(room) % (store.MaxOutputLen + 1)
		got := excerpt(buf[:kept], total, false, r)
		if len(got) > r {
			t.Fatalf("excerpt of %d bytes in room for %d", len(got), r)
		}
		if len(body) <= r {
			if got != string(body) {
				t.Fatalf("body that fits changed: %q → %q", body, got)
			}
			return
		}
		if got == "" {
			return // not even the note fits
		}
		var shownLen, counted int
		if _, err := fmt.Sscanf(got, note, &shownLen, &counted); err != nil {
			t.Fatalf("cut body without the note: %q", got[:min(len(got), 80)])
		}
		_, shown, _ := strings.Cut(got, "\n...\n")
		if counted != len(body) || shownLen != len(shown) || !bytes.HasPrefix(body, []byte(shown)) {
			t.Fatalf("note says %d of %d, shows %d bytes of a %d-byte body", shownLen, counted, len(shown), len(body))
		}
		if utf8.Valid(body) && !utf8.ValidString(shown) {
			t.Fatalf("valid body cut into invalid UTF-8")
		}
	})
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestCaptureStopsAtMaxBody(t *testing.T) {
	buf := make([]byte, 16)
	kept, total, err := capture(endless{}, buf)
	if !errors.Is(err, errBodyTooLong) || kept != len(buf) || total != maxBody+1 {
		t.Errorf("endless body: kept %d, counted %d, err %v; want %d, %d, errBodyTooLong", kept, total, err, len(buf), maxBody+1)
	}
}
