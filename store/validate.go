package store

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what one registration may carry. They keep a careless or
// hostile client from growing the registry without bound.
const (
	MaxIDLen        = 128
	MaxTags         = 64
	MaxTagLen       = 255
	MaxMetaKeys     = 64
	MaxMetaKeyLen   = 128
	MaxMetaValueLen = 512
	MaxChecks       = 32
	MaxOutputLen    = 4096 // a check's output kept, Consul's 4 KiB; see CapOutput
	MaxTextLen      = 1024 // check names, notes, methods, header lines
	MaxBodyLen      = 64 << 10
	// MinInterval is the shortest check interval; shorter ones are
	// raised to it, as Consul does.
	MinInterval = time.Second
	// DefaultTimeout is the timeout of HTTP and TCP checks without one.
	DefaultTimeout = 10 * time.Second
	// MaxDuration bounds every duration field, so arithmetic on them
	// cannot overflow.
	MaxDuration = 10 * 365 * 24 * time.Hour
)

// ValidName reports whether name is a valid service name (a DNS label) and
// otherwise the rule it breaks.
func ValidName(name string) error {
	if name == "" {
		return invalid("Name", "is required")
	}
	for _, r := range name {
		if r >= utf8.RuneSelf || !isAlnum(byte(r)) && r != '-' {
			return invalid("Name", "%q contains %q; a service name has only letters, digits and hyphens", trunc(name), r)
		}
	}
	if len(name) > 63 {
		return invalid("Name", "%q is %d characters long; a service name has at most 63", trunc(name), len(name))
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return invalid("Name", "%q starts or ends with a hyphen; a service name may not", name)
	}
	return nil
}

// ValidID reports whether id may name an instance or check: it appears in
// URL paths, so it has no slash, no '?', no '#', no space or control
// character, is not "." or ".." (which paths resolve away), and has at
// most MaxIDLen bytes.
func ValidID(field, id string) error {
	if id == "" {
		return invalid(field, "is required")
	}
	if id == "." || id == ".." {
		return invalid(field, "%q cannot be used: a URL path drops it, so no API call could reach it", id)
	}
	if len(id) > MaxIDLen {
		return invalid(field, "is %d bytes long; at most %d are allowed", len(id), MaxIDLen)
	}
	if !utf8.ValidString(id) {
		return invalid(field, "is not valid UTF-8")
	}
	for _, r := range id {
		if r == '/' || r == '?' || r == '#' || r == '%' || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return invalid(field, "%q contains %q; IDs may not contain '/', '?', '#', '%%', '\\', spaces or control characters", trunc(id), r)
		}
	}
	return nil
}

// ParseAddress checks an instance address: an IPv4 or IPv6 literal or an
// RFC 1123 hostname. A dotted-decimal form that is not valid IPv4 (such as
// 300.1.1.1) is rejected rather than taken for a hostname.
func ParseAddress(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, invalid("Address", "%q has a zone; give an address without %%zone", s)
		}
		if a.IsUnspecified() {
			return netip.Addr{}, invalid("Address", "%q is the unspecified address; give the address clients should reach", s)
		}
		return a.Unmap(), nil
	}
	if strings.Contains(s, ":") {
		return netip.Addr{}, invalid("Address", "%q is not a valid IPv6 address", trunc(s))
	}
	if allNumericLabels(s) {
		return netip.Addr{}, invalid("Address", "%q looks like an IPv4 address but is not a valid one", trunc(s))
	}
	if err := validHostname(s); err != "" {
		return netip.Addr{}, invalid("Address", "%q is neither an IP address nor a valid hostname: %s", trunc(s), err)
	}
	return netip.Addr{}, nil
}

func allNumericLabels(s string) bool {
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			if l[i] < '0' || l[i] > '9' {
				return false
			}
		}
	}
	return true
}

func validHostname(s string) string {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "it is empty"
	}
	if len(s) > 253 {
		return "it is longer than 253 characters"
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" {
			return "it has an empty label"
		}
		if len(l) > 63 {
			return "a label is longer than 63 characters"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "a label starts or ends with a hyphen"
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return "labels have only letters, digits and hyphens"
			}
		}
	}
	return ""
}

func validTags(tags []string) error {
	if len(tags) > MaxTags {
		return invalid("Tags", "has %d tags; at most %d are allowed", len(tags), MaxTags)
	}
	for i, t := range tags {
		f := "Tags[" + strconv.Itoa(i) + "]"
		if t == "" {
			return invalid(f, "is empty; tags must be non-empty")
		}
		if len(t) > MaxTagLen {
			return invalid(f, "is %d bytes long; at most %d are allowed", len(t), MaxTagLen)
		}
		if !utf8.ValidString(t) || strings.ContainsFunc(t, unicode.IsControl) {
			return invalid(f, "must be valid UTF-8 without control characters")
		}
	}
	return nil
}

func validMeta(meta map[string]string) error {
	if len(meta) > MaxMetaKeys {
		return invalid("Meta", "has %d keys; at most %d are allowed", len(meta), MaxMetaKeys)
	}
	for k, v := range meta {
		f := "Meta[" + strconv.Quote(trunc(k)) + "]"
		if k == "" || len(k) > MaxMetaKeyLen {
			return invalid("Meta", "key %q must be 1 to %d bytes long", trunc(k), MaxMetaKeyLen)
		}
		for i := 0; i < len(k); i++ {
			if !isAlnum(k[i]) && k[i] != '-' && k[i] != '_' {
				return invalid("Meta", "key %q may only contain letters, digits, '-' and '_'", trunc(k))
			}
		}
		if strings.HasPrefix(strings.ToLower(k), "consul-") {
			return invalid("Meta", "key %q uses the reserved prefix \"consul-\"", trunc(k))
		}
		if len(v) > MaxMetaValueLen {
			return invalid(f, "is %d bytes long; at most %d are allowed", len(v), MaxMetaValueLen)
		}
	}
	return nil
}

func validWeights(w *Weights) (Weights, error) {
	if w == nil {
		return Weights{Passing: 1, Warning: 1}, nil
	}
	if w.Passing < 1 || w.Passing > 65535 {
		return Weights{}, invalid("Weights.Passing", "is %d; it must be between 1 and 65535", w.Passing)
	}
	if w.Warning < 0 || w.Warning > 65535 {
		return Weights{}, invalid("Weights.Warning", "is %d; it must be between 0 and 65535", w.Warning)
	}
	return *w, nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// trunc keeps error messages one readable line however long the input.
func trunc(s string) string { return cut(s, 64) }

// CapOutput is the one cap on a check's output: at most MaxOutputLen
// bytes, cut between characters, and when cut, Consul's note of how much
// was kept (as its CheckTTL.SetStatus writes it), so readers can tell.
func CapOutput(s string) string {
	if len(s) <= MaxOutputLen {
		return s
	}
	n := MaxOutputLen
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s ... (captured %d of %d bytes)", s[:n], n, len(s))
}

// cut shortens s to at most n bytes and an ellipsis, between characters.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
