package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// walkThrough is the README's registration.
const walkThrough = `{"ID":"web1","Name":"web","Address":"10.0.0.5","Port":8080,"Tags":["v1"]}`

// query asks the process's DNS server over UDP.
func (p *proc) query(t *testing.T, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, p.DNSAddr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// mustDo sends a request and requires 200, returning the body.
func (p *proc) mustDo(t *testing.T, method, path, body string) string {
	t.Helper()
	resp, err := p.do(context.Background(), method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	return string(b)
}

// checkWeb requires the walk-through's instance in SRV and A answers.
func checkWeb(t *testing.T, p *proc) {
	t.Helper()
	srv := p.query(t, "web.service.local", dns.TypeSRV)
	if srv.Rcode != dns.RcodeSuccess || !srv.Authoritative || len(srv.Answer) != 1 {
		t.Fatalf("SRV answer:\n%s", srv)
	}
	rr, ok := srv.Answer[0].(*dns.SRV)
	if !ok || rr.Priority != 1 || rr.Port != 8080 || rr.Target != "0a000005.addr.service.local." || rr.Hdr.Name != "web.service.local." {
		t.Fatalf("SRV record %v, want web.service.local. SRV 1 w 8080 0a000005.addr.service.local.", srv.Answer[0])
	}
	glue := false
	for _, x := range srv.Extra {
		if a, ok := x.(*dns.A); ok && a.Hdr.Name == rr.Target && a.A.String() == "10.0.0.5" {
			glue = true
		}
	}
	if !glue {
		t.Fatalf("no glue A 10.0.0.5 for %s in additional:\n%s", rr.Target, srv)
	}
	a := p.query(t, "web.service.local", dns.TypeA)
	if a.Rcode != dns.RcodeSuccess || len(a.Answer) != 1 {
		t.Fatalf("A answer:\n%s", a)
	}
	if rec, ok := a.Answer[0].(*dns.A); !ok || rec.A.String() != "10.0.0.5" || rec.Hdr.Ttl != 30 {
		t.Fatalf("A record %v, want web.service.local. 30 IN A 10.0.0.5", a.Answer[0])
	}
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	p := startBeacon(t, dir, testkit.Options{})
	for _, want := range []string{"dns listening", "udp=" + p.DNSAddr, "tcp=" + p.DNSAddr, "http listening", "addr=" + p.HTTPAddr} {
		if !strings.Contains(p.Log(), want) {
			t.Errorf("start-up log lacks %q:\n%s", want, p.Log())
		}
	}
	p.mustDo(t, "PUT", "/v1/agent/service/register", walkThrough)
	checkWeb(t, p)
	if nx := p.query(t, "nothing.service.local", dns.TypeA); nx.Rcode != dns.RcodeNameError {
		t.Errorf("unknown name: rcode %s, want NXDOMAIN", dns.RcodeToString[nx.Rcode])
	}
	if code := p.stop(syscall.SIGTERM, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\nstderr:\n%s", code, p.Log())
	}

	// The same data dir, a new process: the instance is still there.
	p2 := startBeacon(t, dir, testkit.Options{})
	if body := p2.mustDo(t, "GET", "/v1/catalog/service/web", ""); !strings.Contains(body, `"ServiceID":"web1"`) {
		t.Fatalf("catalog after restart: %s", body)
	}
	checkWeb(t, p2)

	// A second beacon on the same data dir gives up within seconds and
	// says why.
	start := time.Now()
	second := launch(t, dir, testkit.Options{})
	code := second.wait(15 * time.Second)
	if code == 0 {
		t.Fatalf("second serve on a locked data dir exited 0\nstderr:\n%s", second.Log())
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("second serve took %s to give up", took)
	}
	if msg := second.Log(); !strings.Contains(msg, "locked") || !strings.Contains(msg, "another beacon") {
		t.Errorf("second serve's error does not name the lock:\n%s", msg)
	}
	if code := p2.stop(syscall.SIGINT, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0\nstderr:\n%s", code, p2.Log())
	}
}

// A blocking query must not hold the shutdown for its whole wait.
func TestShutdownCancelsBlockingQuery(t *testing.T) {
	t.Parallel()
	p := startBeacon(t, t.TempDir(), testkit.Options{})
	p.mustDo(t, "PUT", "/v1/agent/service/register", walkThrough)
	resp, err := p.do(context.Background(), "GET", "/v1/catalog/services", "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	index := resp.Header.Get("X-Consul-Index")
	blocked := make(chan error, 1)
	go func() {
		resp, err := p.do(context.Background(), "GET", "/v1/health/service/web?wait=5m&index="+index, "")
		if err == nil {
			resp.Body.Close()
		}
		blocked <- err
	}()
	// Wait until the query is in, blocked: the debug log shows no sign,
	// so give it a moment that is short next to the 5 min it would wait.
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if code := p.stop(syscall.SIGTERM, 8*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0\nstderr:\n%s", code, p.Log())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown with a blocked query took %s", took)
	}
	select {
	case <-blocked:
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked query never returned")
	}
}

func TestServeUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"serve", "-ttl", "soon"}, nil, "-ttl"},
		{[]string{"serve"}, []string{"BEACON_DNS_ADDR=nonsense"}, "BEACON_DNS_ADDR"},
		{[]string{"serve", "-tls-cert", "x.pem"}, nil, "-tls-key"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(append(tc.args, tc.env...), " "), func(t *testing.T) {
			code, _, stderr := runBinary(t, tc.env, tc.args...)
			if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and one line naming %s", code, stderr, tc.want)
			}
		})
	}
}

func TestServeBindFailureExits(t *testing.T) {
	t.Parallel()
	p := startBeacon(t, t.TempDir(), testkit.Options{})
	// Another beacon on another data dir but the same DNS address.
	code, _, stderr := runBinary(t, nil, "serve", "-data-dir", t.TempDir(), "-dns-addr", p.DNSAddr, "-http-addr", "127.0.0.1:0")
	if code != exitFail || !strings.Contains(stderr, "address already in use") {
		t.Fatalf("exit %d, stderr %q; want 1 and the bind error", code, stderr)
	}
}

func TestVersionBinary(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runBinary(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "beacon "+testkit.Version+" go1.") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
}
