package testkit

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

func TestCleanEnv(t *testing.T) {
	t.Setenv("BEACON_DNS_ADDR", "127.0.0.1:1")
	t.Setenv("CONSUL_HTTP_ADDR", "127.0.0.1:2")
	t.Setenv("CONSUL_CACERT", "/nonexistent")
	t.Setenv("BEACONX", "kept")
	env := CleanEnv("BEACON_TOKEN=added")
	for _, kv := range env {
		if (strings.HasPrefix(kv, "BEACON_") || strings.HasPrefix(kv, "CONSUL_")) && kv != "BEACON_TOKEN=added" {
			t.Errorf("CleanEnv kept %s", kv)
		}
	}
	if !slices.Contains(env, "BEACONX=kept") || env[len(env)-1] != "BEACON_TOKEN=added" {
		t.Errorf("CleanEnv dropped an unrelated variable or the extra one: %q", env)
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	tl, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("TCP on the free port: %v", err)
	}
	defer tl.Close()
	ul, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("UDP on the free port: %v", err)
	}
	ul.Close()
}

func TestLogWriterReadsAddresses(t *testing.T) {
	w := newLogWriter(64)
	lines := []string{
		`time=x level=INFO msg="starting beacon" data_dir=/tmp/d` + "\n",
		`time=x level=INFO msg="dns listening" udp=127.0.0.1:5300 tcp=127.0.0.1:5300 domain=service.local` + "\n",
		`time=x level=INFO msg="http listening" addr=127.0.0.1:8`, // split mid-line
		`500 scheme=http token=false` + "\n",
	}
	for i, l := range lines {
		select {
		case <-w.listening:
			t.Fatalf("listening before line %d", i)
		default:
		}
		w.Write([]byte(l))
	}
	select {
	case <-w.listening:
	default:
		t.Fatal("the http listening line did not mark the start as done")
	}
	if dns, http := w.addrs(); dns != "127.0.0.1:5300" || http != "127.0.0.1:8500" {
		t.Errorf("addrs = %q, %q", dns, http)
	}
	w.Write([]byte(strings.Repeat("x", 200) + "end"))
	if got := w.String(); len(got) != 64 || !strings.HasSuffix(got, "end") {
		t.Errorf("tail %q, want the last 64 bytes", got)
	}
}

func TestCrashed(t *testing.T) {
	for out, want := range map[string]bool{
		"level=INFO msg=stopped\n":                                false,
		"level=INFO msg=\"1000 goroutines\"\n":                    false,
		"panic: runtime error: index out of range\n\ngoroutine 1": true,
		"fatal error: concurrent map writes\n":                    true,
	} {
		if got := Crashed(out); got != want {
			t.Errorf("Crashed(%q) = %v", out, got)
		}
	}
}

// TestServe starts the real binary on ports it picks itself, with
// variables in the environment that would break it if they leaked in,
// and stops it.
func TestServe(t *testing.T) {
	t.Setenv("BEACON_DNS_ADDR", "not an address")
	t.Setenv("BEACON_TTL", "soon")
	dir := t.TempDir()
	b := Serve(t, Options{DataDir: dir})
	for _, addr := range []string{b.DNSAddr, b.HTTPAddr} {
		if _, port, _ := net.SplitHostPort(addr); port == "" || port == "0" {
			t.Fatalf("address %q was not learned from the log", addr)
		}
	}
	if b.URL != "http://"+b.HTTPAddr {
		t.Errorf("URL %q for %s", b.URL, b.HTTPAddr)
	}
	for _, network := range []string{"tcp", "udp"} {
		c, err := net.Dial(network, b.DNSAddr)
		if err != nil {
			t.Fatalf("DNS over %s: %v", network, err)
		}
		c.Close()
	}
	if err := b.healthz(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, err := b.Stop(syscall.SIGTERM, 10*time.Second); err != nil || code != 0 {
		t.Fatalf("SIGTERM: exit %d, %v\n%s", code, err, b.Log())
	}
	if _, err := os.Stat(filepath.Join(dir, "beacon.db")); err != nil {
		t.Errorf("no database in the data dir: %v", err)
	}
}

// TestStartRefused: a process that exits at start is reported at once,
// with its log, and not waited for until the timeout.
func TestStartRefused(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Start(context.Background(), Options{Bin: Binary(t), DataDir: file, ReadyTimeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "exited before it served") || !strings.Contains(err.Error(), "data") {
		t.Fatalf("Start on a file as data dir: %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the refusal took %s to report", took)
	}
	if _, err := Launch(Options{DataDir: t.TempDir()}); err == nil {
		t.Error("Launch without a binary accepted")
	}
}

// TestTool: a program that is there is found; one that is not skips the
// test, or fails it under CI=true.
func TestTool(t *testing.T) {
	if p := Tool(t, "sh"); !strings.HasSuffix(p, "/sh") {
		t.Errorf("Tool(sh) = %q", p)
	}
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		ft := &fakeT{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Tool(ft, "beacon-no-such-program")
		}()
		<-done
		if ci == "true" && (!ft.failed || ft.skipped) {
			t.Errorf("CI=true: a missing tool did not fail the test (failed %v, skipped %v)", ft.failed, ft.skipped)
		}
		if ci == "" && (ft.failed || !ft.skipped) {
			t.Errorf("outside CI: a missing tool did not skip the test (failed %v, skipped %v)", ft.failed, ft.skipped)
		}
	}
}

// fakeT records a Fatal or Skip and ends its goroutine as testing.T does.
type fakeT struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	runtime.Goexit()
}

func (f *fakeT) Skipf(string, ...any) {
	f.skipped = true
	runtime.Goexit()
}
