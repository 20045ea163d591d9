package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// expectations is what the DNS answers must show; see check.
type expectations struct {
	domain string // lower case, no trailing dot
	// stable instances never change during the run.
	stable []instanceAddr
	// flapPorts are the ports of the flapping backends.
	flapPorts map[uint16]bool
	// churnLo and churnHi bound the ports [lo, hi) of churn instances.
	churnLo, churnHi uint16
}

// instanceAddr is an instance's IPv4 address and port.
type instanceAddr struct {
	IP   netip.Addr
	Port uint16
}

// check verifies answer r to query q of a kind, and returns a signature
// of the answer's instances (used to see the flap answers change).
func (e *expectations) check(kind queryKind, q, r *dns.Msg) (string, error) {
	if r.Id != q.Id || len(r.Question) != 1 || r.Question[0] != q.Question[0] {
		return "", fmt.Errorf("reply does not echo the question: id %d question %v", r.Id, r.Question)
	}
	if !r.Authoritative {
		return "", fmt.Errorf("AA not set")
	}
	switch kind {
	case askStableSRV, askStableTCP:
		return e.checkSRV(r, dns.RcodeSuccess, func(port uint16) bool {
			return slices.ContainsFunc(e.stable, func(s instanceAddr) bool { return s.Port == port })
		}, len(e.stable), len(e.stable))
	case askStableA:
		return e.checkA(r)
	case askFlapSRV:
		return e.checkSRV(r, dns.RcodeSuccess, func(port uint16) bool { return e.flapPorts[port] }, 0, len(e.flapPorts))
	case askChurnSRV:
		inRange := func(port uint16) bool { return port >= e.churnLo && port < e.churnHi }
		if r.Rcode == dns.RcodeNameError {
			return "", e.checkNegative(r)
		}
		return e.checkSRV(r, dns.RcodeSuccess, inRange, 0, churnPortSpan)
	default:
		if r.Rcode != dns.RcodeNameError {
			return "", fmt.Errorf("rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
		}
		return "", e.checkNegative(r)
	}
}

// checkSRV checks an SRV answer: rcode, between lo and hi records, each
// with a port that belongs and an addr target whose glue is in the
// additional section.
func (e *expectations) checkSRV(r *dns.Msg, rcode int, belongs func(uint16) bool, lo, hi int) (string, error) {
	if r.Rcode != rcode {
		return "", fmt.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[rcode])
	}
	if len(r.Answer) < lo || len(r.Answer) > hi {
		return "", fmt.Errorf("%d answers, want %d to %d", len(r.Answer), lo, hi)
	}
	if len(r.Answer) == 0 {
		return "none", e.checkNegative(r)
	}
	glue := map[string]netip.Addr{}
	for _, rr := range r.Extra {
		if a, ok := rr.(*dns.A); ok {
			ip, _ := netip.AddrFromSlice(a.A.To4())
			glue[strings.ToLower(a.Hdr.Name)] = ip
		}
	}
	ports := make([]string, 0, len(r.Answer))
	for _, rr := range r.Answer {
		srv, ok := rr.(*dns.SRV)
		if !ok {
			return "", fmt.Errorf("answer %s is not an SRV", rr)
		}
		if !belongs(srv.Port) {
			return "", fmt.Errorf("SRV port %d belongs to no instance of this service", srv.Port)
		}
		ip, ok := glue[strings.ToLower(srv.Target)]
		if !ok || addrTarget(ip, e.domain) != strings.ToLower(srv.Target) {
			return "", fmt.Errorf("SRV target %s has no matching A in the additional section", srv.Target)
		}
		ports = append(ports, strconv.Itoa(int(srv.Port)))
	}
	slices.Sort(ports)
	return strings.Join(ports, ","), nil
}

// checkA checks that the stable A answer holds exactly the stable
// addresses.
func (e *expectations) checkA(r *dns.Msg) (string, error) {
	if r.Rcode != dns.RcodeSuccess {
		return "", fmt.Errorf("rcode %s, want NOERROR", dns.RcodeToString[r.Rcode])
	}
	var got, want []string
	for _, rr := range r.Answer {
		a, ok := rr.(*dns.A)
		if !ok {
			return "", fmt.Errorf("answer %s is not an A", rr)
		}
		got = append(got, a.A.String())
	}
	for _, s := range e.stable {
		want = append(want, s.IP.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return "", fmt.Errorf("addresses %v, want %v", got, want)
	}
	return strings.Join(got, ","), nil
}

// checkNegative checks that a negative answer carries the zone's SOA.
func (e *expectations) checkNegative(r *dns.Msg) error {
	if len(r.Answer) != 0 {
		return fmt.Errorf("negative answer with %d records", len(r.Answer))
	}
	for _, rr := range r.Ns {
		if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, e.domain+".") {
			return nil
		}
	}
	return fmt.Errorf("negative answer without the SOA of %s in authority", e.domain)
}

// addrTarget is the SRV target beacon gives an IPv4 instance.
func addrTarget(ip netip.Addr, domain string) string {
	b := ip.As4()
	return fmt.Sprintf("%02x%02x%02x%02x.addr.%s.", b[0], b[1], b[2], b[3], domain)
}
