package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// serveInProcess runs serve with args (data dir and loopback ports added)
// until the test ends, and returns the HTTP address it logged.
func serveInProcess(t *testing.T, args ...string) (string, *testkit.SyncBuffer) {
	t.Helper()
	addr, logs, stop := startServe(t, filepath.Join(t.TempDir(), "absent"), args...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return addr, logs
}

// startServe runs serve with args (data dir and loopback ports added) and
// the nsswitch.conf at nsswitch, and returns the HTTP address it logged.
// stop ends serve's context and returns what serve returned.
func startServe(t *testing.T, nsswitch string, args ...string) (addr string, logs *testkit.SyncBuffer, stop func() error) {
	t.Helper()
	args = append([]string{"-data-dir", t.TempDir(), "-dns-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0"}, args...)
	cfg, err := parseServe(newFlagSet("serve", ""), args, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	logs = &testkit.SyncBuffer{}
	probe := mdnsProbe{NSSwitch: nsswitch, ResolvedStub: filepath.Join(t.TempDir(), "absent")}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, newLogger(logs, cfg.LogLevel), probe) }()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("serve returned %v", err)
			}
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("serve did not return after its context ended")
		}
	}
	httpAddr := regexp.MustCompile(`http listening" addr=(127\.0\.0\.1:\d+)`)
	eventually(t, 10*time.Second, func() string {
		if m := httpAddr.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
			return ""
		}
		return "no http listening line in the log:\n" + logs.String()
	})
	return addr, logs, stop
}

// TestServeTLS: with -tls-cert and -tls-key the API answers HTTPS with
// that certificate, at TLS 1.2 or later, and nothing in plain HTTP.
func TestServeTLS(t *testing.T) {
	cert, key := writeTestCert(t, t.TempDir())
	addr, logs := serveInProcess(t, "-tls-cert", cert, "-tls-key", key)
	if !strings.Contains(logs.String(), "scheme=https") {
		t.Errorf("log does not say https:\n%s", logs)
	}
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	get := func(cfg *tls.Config, scheme string) (*http.Response, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		return c.Get(scheme + "://" + addr + "/healthz")
	}
	resp, err := get(&tls.Config{RootCAs: pool}, "https")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("HTTPS: %s, TLS %+v", resp.Status, resp.TLS)
	}
	if _, err := get(&tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}, "https"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	if resp, err := get(nil, "http"); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("plain HTTP was served on the TLS port")
	}
}

// TestServeConnLimits: the serve flags bound HTTP connections per client
// on the real listener, and the start logs the limits and the raised
// open-file limit.
func TestServeConnLimits(t *testing.T) {
	addr, logs := serveInProcess(t, "-http-max-conns-per-client", "2")
	if !regexp.MustCompile(`max_conns=\d+ max_conns_per_client=2`).MatchString(logs.String()) ||
		!strings.Contains(logs.String(), `msg="open-file limit"`) {
		t.Errorf("limits not logged:\n%s", logs)
	}
	answered := func() bool {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /v1/status/leader HTTP/1.1\r\nHost: b\r\n\r\n"); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for i := range 2 {
		if !answered() {
			t.Fatalf("connection %d of 2 was not answered", i+1)
		}
	}
	if answered() {
		t.Fatal("a third idle connection from one client was answered; -http-max-conns-per-client is 2")
	}
}

// TestHTTPConnLimits: the total is lowered to half the descriptor limit
// when above it, with a warning, and kept otherwise.
func TestHTTPConnLimits(t *testing.T) {
	cases := []struct {
		total  int
		nofile uint64
		want   int
		warned bool
	}{
		{4096, 1 << 20, 4096, false},
		{4096, 8192, 4096, false},
		{4096, 1024, 512, true},
		{100, 1024, 100, false},
		{10, 1, 1, true},
	}
	for _, c := range cases {
		logs := &testkit.SyncBuffer{}
		got := httpConnLimits(&serveConfig{HTTPMaxConns: c.total, HTTPMaxConnsPerClient: 200}, c.nofile, newLogger(logs, slog.LevelInfo))
		if got.Total != c.want || got.PerClient != 200 || strings.Contains(logs.String(), "level=WARN") != c.warned {
			t.Errorf("total %d, nofile %d: got %+v, log %q", c.total, c.nofile, got, logs)
		}
	}
}

// TestRaiseNoFile: a soft limit below the hard one is raised to it.
func TestRaiseNoFile(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	low := orig
	low.Cur = min(orig.Max, 256)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	n, err := raiseNoFile()
	var now syscall.Rlimit
	if err2 := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err2 != nil {
		t.Fatal(err2)
	}
	if err != nil || n != orig.Max || now.Cur != orig.Max {
		t.Errorf("raiseNoFile = %d, %v; soft limit now %d, want %d", n, err, now.Cur, orig.Max)
	}
}
