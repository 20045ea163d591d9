package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// mdnsProbe finds what on this host claims the .local domain for
// multicast DNS (RFC 6762), so that a beacon zone under .local would never
// see the lookups the system resolver makes. Paths are fields so tests
// can point them at fixtures.
type mdnsProbe struct {
	// NSSwitch is the name service switch configuration; default
	// /etc/nsswitch.conf.
	NSSwitch string
	// ResolvedStub exists when systemd-resolved runs its stub resolver;
	// default /run/systemd/resolve/stub-resolv.conf.
	ResolvedStub string
}

// defaultMDNSProbe looks at the real host.
var defaultMDNSProbe = mdnsProbe{
	NSSwitch:     "/etc/nsswitch.conf",
	ResolvedStub: "/run/systemd/resolve/stub-resolv.conf",
}

// underLocal reports whether the zone is .local or below it.
func underLocal(domain string) bool {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	return d == "local" || strings.HasSuffix(d, ".local")
}

// owners names what claims .local on this host, if anything: nss-mdns in
// the hosts line of nsswitch.conf, or systemd-resolved (its stub running,
// or nss-resolve in that line), which resolves .local over mDNS only and
// never sends it to a unicast server.
func (p mdnsProbe) owners() ([]string, error) {
	var found []string
	line, err := hostsLine(p.NSSwitch)
	if err != nil {
		return nil, err
	}
	var mdns, resolve string
	for _, f := range strings.Fields(line) {
		switch {
		case mdns == "" && strings.HasPrefix(f, "mdns"):
			mdns = f
		case f == "resolve":
			resolve = f
		}
	}
	if mdns != "" {
		found = append(found, fmt.Sprintf("nss-mdns (%q in the hosts line of %s)", mdns, p.NSSwitch))
	}
	switch _, err := os.Stat(p.ResolvedStub); {
	case err == nil:
		found = append(found, fmt.Sprintf("systemd-resolved (%s exists)", p.ResolvedStub))
	case resolve != "":
		found = append(found, fmt.Sprintf("systemd-resolved (%q in the hosts line of %s)", resolve, p.NSSwitch))
	}
	return found, nil
}

// hostsLine returns the sources of the "hosts:" line of an nsswitch.conf,
// comments removed, or "" when the file or the line is missing.
func hostsLine(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	return parseHostsLine(f)
}

// parseHostsLine finds the hosts line in nsswitch.conf text.
func parseHostsLine(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		key, rest, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(key) == "hosts" {
			return rest, nil
		}
	}
	return "", sc.Err()
}

// mdnsWarning is the warning to log at start, or "" when there is none.
func (p mdnsProbe) mdnsWarning(domain string) (string, error) {
	if !underLocal(domain) {
		return "", nil
	}
	owners, err := p.owners()
	if err != nil || len(owners) == 0 {
		return "", err
	}
	return fmt.Sprintf("zone %s is under .local, which %s claims for multicast DNS on this host: "+
		"lookups through the system resolver will not reach beacon; query beacon's -dns-addr "+
		"directly, or serve another zone with -domain (e.g. -domain service.internal)",
		domain, strings.Join(owners, " and ")), nil
}
