package testkit

import (
	"os"
	"strings"
	"testing"
)

// TestLogWriterRealLog reads the log of a real `beacon serve` on port 0.
func TestLogWriterRealLog(t *testing.T) {
	fixture, err := os.ReadFile("testdata/beacon.log")
	if err != nil {
		t.Fatal(err)
	}
	w := newLogWriter(logKeep)
	w.Write(fixture)
	if dns, http := w.addrs(); dns != "127.0.0.1:59185" || http != "127.0.0.1:44589" {
		t.Errorf("addrs = %q, %q; want 127.0.0.1:59185, 127.0.0.1:44589", dns, http)
	}
	for _, line := range []string{
		`msg="http listening"`,
		`msg="http listening" addr= scheme=http`,
		`msg="dns listening" addr=127.0.0.1:1`,
	} {
		w := newLogWriter(logKeep)
		w.Write([]byte(line + "\n"))
		select {
		case <-w.listening:
			t.Errorf("%q marked the start as done", line)
		default:
		}
	}
}

// FuzzLogWriter writes any output in two pieces: reading it must not
// panic, and an address read must be in the output.
func FuzzLogWriter(f *testing.F) {
	f.Add([]byte("level=INFO msg=\"http listening\" addr=127.0.0.1:8500 scheme=http\n"), 10)
	f.Add([]byte("msg=\"dns listening\" udp=[::1]:53 tcp=[::1]:53\nmsg=\"http listening\" addr=x\n"), 30)
	f.Fuzz(func(t *testing.T, out []byte, cut int) {
		w := newLogWriter(1 << 10)
		cut = min(max(cut, 0), len(out))
		w.Write(out[:cut])
		w.Write(out[cut:])
		dns, http := w.addrs()
		for _, a := range []string{dns, http} {
			if a != "" && !strings.Contains(string(out), a) {
				t.Fatalf("address %q is not in the output", a)
			}
		}
	})
}
