package dnsserver

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// The interoperability tests run beacon's server in process against
// programs written by others: dig and kdig (knot-dnsutils) as clients,
// and unbound and dnsmasq (dnsmasq-base) as forwarders in front of it.
// Each skips when its program is not installed, except in CI (CI=true),
// where .ci/run installs them and a missing one fails the test.

// unavailable skips a test whose program is missing or unusable, or
// fails it when CI=true: CI installs the programs, and a test that
// silently skips there proves nothing.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (CI=true: .ci/run should have installed it)", args...)
	}
	t.Skipf(format, args...)
}

// freePort returns a port free for both UDP and TCP on 127.0.0.1, for a
// program that must be told its port. Another process may take it before
// the program binds it; daemon then reports the program's exit.
func freePort(t *testing.T) int {
	t.Helper()
	pc, ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	pc.Close()
	ln.Close()
	return port
}

// config writes testdata/<name> filled in with data into dir and returns
// its path.
func config(t *testing.T, dir, name string, data any) string {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// daemon starts a program that stays in the foreground and answers DNS
// on addr, and waits until it answers a SOA query for the zone (which it
// forwards to beacon). The program is stopped, by its PID, when the test
// ends.
func daemon(t *testing.T, addr string, path string, args ...string) {
	t.Helper()
	out := &testkit.SyncBuffer{}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(path), out)
		}
	})
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s exited before answering:\n%s", filepath.Base(path), out)
		default:
		}
		r, _, err := c.Exchange(new(dns.Msg).SetQuestion("service.local.", dns.TypeSOA), addr)
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer on %s (last: %v %v):\n%s", filepath.Base(path), addr, r, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// portOf is the port the server listens on, as text.
func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// udpAddr is the UDP address host:port.
func udpAddr(hostport string) net.Addr {
	a, _ := net.ResolveUDPAddr("udp", hostport)
	return a
}

// itoa is strconv.Itoa, for templates and arguments.
func itoa(n int) string { return strconv.Itoa(n) }
