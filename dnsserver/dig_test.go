package dnsserver

import (
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// TestDig checks interoperability with ISC dig when it is installed (CI
// installs dnsutils): the README's commands, TC fallback to TCP, reverse
// lookups and 0x20 case.
func TestDig(t *testing.T) {
	dig := testkit.Tool(t, "dig")
	f := newFixture(t, nil)
	seed(t, f)
	seedBig(t, f, 60)
	port := strconv.Itoa(f.srv.UDPAddr().(*net.UDPAddr).Port)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(dig, append([]string{"@127.0.0.1", "-p", port, "+time=3", "+tries=1"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	lines := func(s string) []string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		slices.Sort(l)
		return l
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"web.service.local", "SRV", "+short"}, []string{
			"1 1 8080 0a000005.addr.service.local.", "1 1 8082 20010db8000000000000000000000007.addr.service.local.", "1 3 8081 0a000006.addr.service.local."}},
		{[]string{"web.service.local", "A", "+short"}, []string{"10.0.0.5", "10.0.0.6"}},
		{[]string{"web.service.local", "AAAA", "+short", "+tcp"}, []string{"2001:db8::7"}},
		{[]string{"_web._v1.service.local", "SRV", "+short", "+noedns"}, []string{
			"1 1 8080 0a000005.addr.service.local.", "1 1 8082 20010db8000000000000000000000007.addr.service.local."}},
		{[]string{"-x", "10.0.0.5", "+short"}, []string{"api.service.local.", "web.service.local."}},
		{[]string{"0a000006.addr.service.local", "+short"}, []string{"10.0.0.6"}},
	} {
		if got := lines(run(c.args...)); !slices.Equal(got, c.want) {
			t.Errorf("dig %v:\n got  %q\n want %q", c.args, got, c.want)
		}
	}

	// Over UDP without EDNS the 60-instance answer is truncated; dig
	// retries over TCP and gets all of it.
	if got := lines(run("big.service.local", "SRV", "+short", "+noedns")); len(got) != 60 {
		t.Errorf("dig big SRV: %d records, want 60 after the TCP retry", len(got))
	}
	out := run("big.service.local", "SRV", "+noedns", "+ignore")
	if !strings.Contains(out, " tc") {
		t.Errorf("dig +ignore big SRV: no tc flag:\n%s", out)
	}

	out = run("nope.service.local", "A")
	for _, want := range []string{"status: NXDOMAIN", "flags: qr aa rd;", "SOA\tns.service.local. hostmaster.service.local."} {
		if !strings.Contains(out, want) {
			t.Errorf("dig nope: no %q in\n%s", want, out)
		}
	}
	out = run("WeB.SeRvIcE.LoCaL", "A")
	if !strings.Contains(out, ";WeB.SeRvIcE.LoCaL.\t\tIN\tA") || !strings.Contains(out, "status: NOERROR") {
		t.Errorf("dig mixed case: question not echoed as asked:\n%s", out)
	}
	out = run("service.local", "NS")
	if !strings.Contains(out, "service.local.\t\t30\tIN\tNS\tns.service.local.") || !strings.Contains(out, "ns.service.local.\t30\tIN\tA\t127.0.0.1") {
		t.Errorf("dig NS: \n%s", out)
	}
	out = run("example.com", "A")
	if !strings.Contains(out, "status: REFUSED") {
		t.Errorf("dig outside the zone: not REFUSED:\n%s", out)
	}
}
