package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// TestServeInProcess runs serve itself under the race detector: it logs
// the bound addresses and the .local warning, serves /healthz, and
// returns nil once its context ends.
func TestServeInProcess(t *testing.T) {
	addr, logs, stop := startServe(t, filepath.Join("testdata", "nsswitch", "debian-mdns.conf"))
	if !regexp.MustCompile(`dns listening" udp=127\.0\.0\.1:[1-9]\d* tcp=127\.0\.0\.1:[1-9]\d*`).MatchString(logs.String()) {
		t.Errorf("the log does not show the DNS addresses bound:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "mdns4_minimal") {
		t.Errorf("no .local warning logged:\n%s", logs)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", resp.Status)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("no stopped line:\n%s", logs)
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8500": true, "[::1]:8500": true, "localhost:8500": true,
		":8500": false, "0.0.0.0:8500": false, "10.0.0.1:8500": false, "nonsense": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestServeRecursorIsSelf: beacon refuses to start forwarding to itself,
// with one line naming the recursor, instead of looping.
func TestServeRecursorIsSelf(t *testing.T) {
	dnsPort, err := testkit.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(dnsPort)
	cfg, err := parseServe(newFlagSet("serve", ""), []string{"-data-dir", t.TempDir(), "-dns-addr", addr,
		"-http-addr", "127.0.0.1:0", "-recursor", addr}, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	probe := mdnsProbe{NSSwitch: filepath.Join("testdata", "nsswitch", "plain.conf"), ResolvedStub: filepath.Join(t.TempDir(), "absent")}
	err = serve(context.Background(), cfg, newLogger(&testkit.SyncBuffer{}, cfg.LogLevel), probe)
	if err == nil || !strings.Contains(err.Error(), "recursor "+addr+" is this server's own address") || strings.HasPrefix(err.Error(), "dns: dns:") {
		t.Fatalf("serve: %v, want one refusal naming the recursor", err)
	}
}
