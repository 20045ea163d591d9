package dnsserver

import (
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// kind says what a question name stands for.
type kind uint8

const (
	kindOutside   kind = iota // not in the zone, and not a reverse name we answer
	kindUnknown               // in the zone, but no name beacon could ever hold
	kindApex                  // the zone itself
	kindNS                    // ns.<zone>, the name of this server
	kindService               // <name>, <tag>.<name>, _<name>._<tag>
	kindAddr                  // <hex-ip>.addr
	kindEmpty                 // an empty non-terminal: addr, _tcp, _udp
	kindReverse               // a name under in-addr.arpa or ip6.arpa
	kindTagParent             // _<tag>, the parent of _<name>._<tag>
)

// query is a question name parsed against the zone once, so that each
// lookup works on fields rather than strings.
type query struct {
	kind kind
	// service and tag are set for kindService, tag alone for
	// kindTagParent; tag "" matches any. service is lower-case.
	service string
	tag     string
	// addr is set for kindAddr and kindReverse.
	addr netip.Addr
}

// parseQuery classifies lname, a lower-case FQDN, against origin.
func parseQuery(lname, origin string) query {
	if lname == origin {
		return query{kind: kindApex}
	}
	if !dns.IsSubDomain(origin, lname) {
		if a, ok := parseReverse(lname); ok {
			return query{kind: kindReverse, addr: a}
		}
		return query{kind: kindOutside}
	}
	labels := dns.SplitDomainName(lname[:len(lname)-len(origin)])
	switch len(labels) {
	case 1:
		return parseOne(labels[0])
	case 2:
		return parseTwo(labels[0], labels[1])
	}
	return query{kind: kindUnknown}
}

func parseOne(l string) query {
	switch l {
	case "ns":
		return query{kind: kindNS, service: l}
	case "addr", "_tcp", "_udp":
		// Names exist below these, so they are empty non-terminals
		// (RFC 8020: no NXDOMAIN above an existing name) unless a
		// service of that name claims them.
		return query{kind: kindEmpty, service: l}
	}
	if len(l) > 1 && l[0] == '_' {
		// No service name starts with "_" (they are LDH labels), but
		// _<name>._<tag> names lie below this one.
		return query{kind: kindTagParent, tag: label(l[1:])}
	}
	return query{kind: kindService, service: label(l)}
}

func parseTwo(first, second string) query {
	if second == "addr" {
		if a, ok := parseHexAddr(first); ok {
			return query{kind: kindAddr, addr: a}
		}
	}
	if len(first) > 1 && len(second) > 1 && first[0] == '_' && second[0] == '_' {
		// RFC 2782 form _<name>._<tag>; _tcp and _udp filter nothing.
		tag := unescape(second[1:])
		if tag == "tcp" || tag == "udp" {
			tag = ""
		}
		return query{kind: kindService, service: label(first[1:]), tag: tag}
	}
	return query{kind: kindService, service: label(second), tag: unescape(first)}
}

// parseHexAddr reads the 8 (IPv4) or 32 (IPv6) hex digits of an SRV target.
func parseHexAddr(l string) (netip.Addr, bool) {
	if len(l) != 8 && len(l) != 32 {
		return netip.Addr{}, false
	}
	var b [16]byte
	if _, err := hex.Decode(b[:len(l)/2], []byte(l)); err != nil {
		return netip.Addr{}, false
	}
	if len(l) == 8 {
		return netip.AddrFrom4([4]byte(b[:4])), true
	}
	return netip.AddrFrom16(b), true
}

// hexTarget is the SRV target for an IP address: <hex>.addr.<origin>.
func hexTarget(a netip.Addr, origin string) string {
	a = a.Unmap()
	var buf [16]byte
	var raw []byte
	if a.Is4() {
		b4 := a.As4()
		raw = b4[:]
	} else {
		buf = a.As16()
		raw = buf[:]
	}
	return hex.EncodeToString(raw) + ".addr." + origin
}

// parseReverse reads an in-addr.arpa (RFC 1035) or ip6.arpa (RFC 3596)
// name; partial names are not addresses.
func parseReverse(lname string) (netip.Addr, bool) {
	switch {
	case strings.HasSuffix(lname, ".in-addr.arpa."):
		labels := strings.Split(strings.TrimSuffix(lname, ".in-addr.arpa."), ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, l := range labels {
			n, err := strconv.ParseUint(l, 10, 8)
			if err != nil || (len(l) > 1 && l[0] == '0') {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	case strings.HasSuffix(lname, ".ip6.arpa."):
		labels := strings.Split(strings.TrimSuffix(lname, ".ip6.arpa."), ".")
		if len(labels) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, l := range labels {
			if len(l) != 1 {
				return netip.Addr{}, false
			}
			n, err := strconv.ParseUint(l, 16, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			j := 31 - i
			b[j/2] |= byte(n) << (4 * (1 - j%2))
		}
		return netip.AddrFrom16(b).Unmap(), true
	}
	return netip.Addr{}, false
}

// label is a service name label as the store keeps it: unescaped, then
// lower-cased, since an escape can spell a capital letter.
func label(l string) string { return lowerASCII(unescape(l)) }

// unescape turns a label in presentation format (RFC 1035 section 5.1:
// \X and \DDD) into its bytes, so tags with odd characters still match.
func unescape(l string) string {
	if !strings.Contains(l, `\`) {
		return l
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c != '\\' || i+1 >= len(l) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && isDigit(l[i+3]) {
			n, _ := strconv.Atoi(l[i+1 : i+4])
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(l[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
