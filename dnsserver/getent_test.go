package dnsserver

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// TestGetent resolves names through the C library's stub resolver, as a
// host whose resolv.conf names beacon does: "nameserver 127.0.0.1" (the
// stub knows no other port than 53) and "search service.local". The test
// needs root, for port 53 and for a private mount namespace (unshare -m)
// in which that resolv.conf is bound over /etc/resolv.conf, so the host's
// own is never touched; it skips otherwise.
func TestGetent(t *testing.T) {
	getent, unshare := testkit.Tool(t, "getent"), testkit.Tool(t, "unshare")
	if os.Geteuid() != 0 {
		t.Skip("needs root for port 53 and a mount namespace")
	}
	if out, err := exec.Command(unshare, "-m", "true").CombinedOutput(); err != nil {
		t.Skipf("unshare -m: %v %s", err, out)
	}
	pc, ln, err := listen("127.0.0.1:53")
	if err != nil {
		t.Skipf("port 53 on 127.0.0.1 is taken: %v", err)
	}
	pc.Close()
	ln.Close()
	f := newFixture(t, func(c *Config) { c.Addr = "127.0.0.1:53" })
	seed(t, f)
	seedBig(t, f, 60)

	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	nss := filepath.Join(dir, "nsswitch.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\nsearch service.local\noptions timeout:2 attempts:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Only files and DNS: no mdns or systemd-resolved module in between.
	if err := os.WriteFile(nss, []byte("hosts: files dns\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const script = `mount --bind "$1" /etc/resolv.conf && { [ ! -e /etc/nsswitch.conf ] || mount --bind "$2" /etc/nsswitch.conf; } && shift 2 && exec "$@"`
	run := func(args ...string) ([]string, error) {
		cmd := exec.Command(unshare, append([]string{"-m", "sh", "-c", script, "sh", resolv, nss, getent}, args...)...)
		out, err := cmd.Output()
		return strings.Split(strings.TrimSpace(string(out)), "\n"), err
	}

	var big []string
	for i := range 60 {
		big = append(big, netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(i%250 + 1)}).String()+" big.service.local")
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		// gethostbyname2 asks AAAA first, then A when there is none.
		{[]string{"hosts", "web"}, []string{"2001:db8::7 web.service.local"}},
		{[]string{"hosts", "WEB.Service.Local"}, []string{"2001:db8::7 WEB.Service.Local"}},
		{[]string{"hosts", "api"}, []string{"10.0.0.5 api.service.local"}},
		// 60 addresses do not fit 512 bytes: TC, then TCP.
		{[]string{"hosts", "big"}, big},
		{[]string{"hosts", "10.0.0.6"}, []string{"10.0.0.6 web.service.local"}},
		{[]string{"hosts", "2001:db8::7"}, []string{"2001:db8::7 web.service.local"}},
	} {
		got, err := run(c.args...)
		for i, l := range got {
			got[i] = strings.Join(strings.Fields(l), " ")
		}
		slices.Sort(got)
		slices.Sort(c.want)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("getent %s: %v\n got  %q\n want %q", strings.Join(c.args, " "), err, got, c.want)
		}
	}

	// getaddrinfo sends A and AAAA at once from one socket, for the
	// families the host has addresses of.
	v4, v6 := hostFamilies()
	var want []string
	if v4 {
		want = append(want, "10.0.0.5", "10.0.0.6")
	}
	if v6 {
		want = append(want, "2001:db8::7")
	}
	if len(want) > 0 {
		out, err := run("ahosts", "web")
		var got []string
		for _, l := range out {
			if fs := strings.Fields(l); len(fs) > 1 && fs[1] == "STREAM" {
				got = append(got, fs[0])
			}
		}
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("getent ahosts web: %v: got %q, want %q", err, got, want)
		}
	}

	// An unknown name is not found at once (NXDOMAIN, then REFUSED for
	// the name outside the zone), not after a timeout.
	start := time.Now()
	_, err = run("hosts", "nope")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("getent hosts nope: %v after %s, want exit status 2 at once", err, time.Since(start))
	}
}

// hostFamilies reports whether the host has a non-loopback IPv4 and IPv6
// address, which getaddrinfo's AI_ADDRCONFIG asks before it queries A or
// AAAA.
func hostFamilies() (v4, v6 bool) {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil || p.Addr().IsLoopback() || p.Addr().IsLinkLocalUnicast() {
			continue
		}
		if p.Addr().Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	return v4, v6
}
