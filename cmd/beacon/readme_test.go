package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/dnsserver"
	"github.com/beacon-dns/beacon/internal/testkit"
)

// transcriptStep is one command of the README's walk-through and the
// records its output shows.
type transcriptStep struct {
	cmd     string
	records []string
}

// readTranscript returns the steps of the first ```console block after
// heading in README.md.
func readTranscript(t *testing.T, heading string) []transcriptStep {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []transcriptStep
	in, seen := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == heading:
			seen = true
		case seen && !in && line == "```console":
			in = true
		case in && line == "```":
			return steps
		case in && strings.HasPrefix(line, "$ "):
			steps = append(steps, transcriptStep{cmd: strings.TrimPrefix(line, "$ ")})
		case in && len(steps) > 0 && strings.HasSuffix(steps[len(steps)-1].cmd, `\`):
			s := &steps[len(steps)-1]
			s.cmd = strings.TrimSuffix(s.cmd, `\`) + " " + strings.TrimSpace(line)
		case in && len(steps) > 0 && line != "" && !strings.HasPrefix(line, ";"):
			if rr, err := dns.NewRR(line); err == nil && rr != nil {
				s := &steps[len(steps)-1]
				s.records = append(s.records, rr.String())
			}
		}
	}
	t.Fatalf("README.md has no ```console block under %q", heading)
	return nil
}

var curlData = regexp.MustCompile(`--data '([^']*)'`)

// TestReadmeWalkThrough runs the README's walk-through against the real
// binary: its registration must be the shared fixture, and every dig in it
// must print the records the README shows.
func TestReadmeWalkThrough(t *testing.T) {
	t.Parallel()
	steps := readTranscript(t, "## Walk-through")
	fixture, err := os.ReadFile(filepath.Join("..", "..", "testdata", "register-web.json"))
	if err != nil {
		t.Fatal(err)
	}
	var body string
	var digs []transcriptStep
	for _, s := range steps {
		if m := curlData.FindStringSubmatch(s.cmd); m != nil && strings.HasPrefix(s.cmd, "curl ") {
			body = m[1]
		}
		if strings.HasPrefix(s.cmd, "dig ") {
			digs = append(digs, s)
		}
	}
	if body != strings.TrimSpace(string(fixture)) {
		t.Fatalf("README registers %q, testdata/register-web.json holds %q", body, fixture)
	}
	if len(digs) < 2 {
		t.Fatalf("README walk-through has %d dig commands, want at least SRV and A", len(digs))
	}
	p := startBeacon(t, t.TempDir(), testkit.Options{})
	p.mustDo(t, "PUT", "/v1/agent/service/register", body)
	dig := testkit.Tool(t, "dig")
	host, port, _ := net.SplitHostPort(p.DNSAddr)
	for _, d := range digs {
		t.Run(d.cmd, func(t *testing.T) {
			args := strings.Fields(d.cmd)[1:]
			for i, a := range args {
				switch {
				case strings.HasPrefix(a, "@"):
					args[i] = "@" + host
				case a == "-p" && i+1 < len(args):
					args[i+1] = port
				}
			}
			out, err := exec.Command(dig, append(args, "+time=2", "+tries=1")...).CombinedOutput()
			if err != nil {
				t.Fatalf("dig %v: %v\n%s", args, err, out)
			}
			var got []string
			for _, line := range strings.Split(string(out), "\n") {
				if line == "" || strings.HasPrefix(line, ";") {
					continue
				}
				if rr, err := dns.NewRR(line); err == nil && rr != nil {
					got = append(got, rr.String())
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(d.records))
			if !slices.Equal(got, want) {
				t.Errorf("dig printed records\n%s\nREADME shows\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestCorefileExample checks that Corefile.example forwards beacon's
// default zone to beacon's default DNS address.
func TestCorefileExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Corefile.example"))
	if err != nil {
		t.Fatal(err)
	}
	zone, fwd := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[1] == "{" && zone == "":
			zone = strings.TrimSuffix(f[0], ":53")
		case len(f) >= 3 && f[0] == "forward" && zone != "" && fwd == "":
			fwd = f[2]
		}
	}
	if zone != dnsserver.DefaultDomain {
		t.Errorf("first server block is for %q, want beacon's zone %q", zone, dnsserver.DefaultDomain)
	}
	if fwd != dnsserver.DefaultAddr {
		t.Errorf("the zone is forwarded to %q, want beacon's DNS address %q", fwd, dnsserver.DefaultAddr)
	}
}

// TestCorefileWithCoreDNS runs Corefile.example in a real CoreDNS
// (.ci/run installs it; see testkit.Tool) in front of the real binary, with
// only the ports changed, and resolves through it.
func TestCorefileWithCoreDNS(t *testing.T) {
	t.Parallel()
	coredns := testkit.Tool(t, "coredns")
	b, err := os.ReadFile(filepath.Join("..", "..", "Corefile.example"))
	if err != nil {
		t.Fatal(err)
	}
	p := startBeacon(t, t.TempDir(), testkit.Options{})
	p.mustDo(t, "PUT", "/v1/agent/service/register", walkThrough)
	port, err := testkit.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(b), dnsserver.DefaultAddr, p.DNSAddr)
	conf = strings.ReplaceAll(conf, ":53 {", ":"+strconv.Itoa(port)+" {")
	path := filepath.Join(t.TempDir(), "Corefile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(coredns, "-conf", path)
	var out testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ask := func(net string, name string, qtype uint16) *dns.Msg {
		c := &dns.Client{Net: net, Timeout: time.Second}
		m := new(dns.Msg).SetQuestion(name, qtype)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			r, _, err := c.Exchange(m, addr)
			if err == nil {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s through CoreDNS: %v\n%s", net, name, err, out.String())
			}
		}
	}
	for _, tr := range []string{"udp", "tcp"} {
		srv := ask(tr, "web.service.local.", dns.TypeSRV)
		if len(srv.Answer) != 1 || srv.Answer[0].(*dns.SRV).Target != "0a000005.addr.service.local." {
			t.Errorf("%s SRV through CoreDNS:\n%s", tr, srv)
		}
		if nx := ask(tr, "nope.service.local.", dns.TypeA); nx.Rcode != dns.RcodeNameError {
			t.Errorf("%s unknown name through CoreDNS: %s, want NXDOMAIN", tr, dns.RcodeToString[nx.Rcode])
		}
	}
}

// TestReadmeTestCommandIsCI: the test command README.md gives under
// "Set up" is the one .ci/run runs, so a user running it tests what CI
// tests.
func TestReadmeTestCommandIsCI(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, setUp, _ := strings.Cut(string(readme), "\n## Set up\n")
	setUp, _, _ = strings.Cut(setUp, "\n## ")
	var command string
	for line := range strings.SplitSeq(setUp, "\n") {
		if strings.HasPrefix(line, "go test ") {
			command, _, _ = strings.Cut(line, "#")
			command = strings.TrimSpace(command)
		}
	}
	if command == "" {
		t.Fatal(`README.md has no "go test" line under "Set up"`)
	}
	ci, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\nreadme_test='"+command+"'\n") {
		t.Errorf(".ci/run does not run the README's test command %q as its readme_test", command)
	}
	for _, want := range []string{"./...", "testdata/harness"} {
		if !strings.Contains(command, want) {
			t.Errorf("the README's test command %q does not cover %s", command, want)
		}
	}
}
