package store

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ValidListenAddr is the one rule for the addresses beacon listens on
// (DNS and HTTP): host:port where host is empty (every interface), an IP
// address or a host name, and port is 0–65535. The error is one sentence
// about the value alone; callers add the flag or field.
func ValidListenAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8600)", s)
	}
	if _, err := ParsePort(port); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if host == "" || IsHost(host) {
		return nil
	}
	return fmt.Errorf("%q: host %q is neither an IP address nor a host name", s, host)
}

// IsHost reports whether s is an IP address or a host name.
func IsHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := ParseAddress(s)
	return err == nil && s != "" && !strings.Contains(s, ":")
}

// ParsePort reads a decimal port, 0–65535.
func ParsePort(port string) (uint16, error) {
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return uint16(n), nil
}
