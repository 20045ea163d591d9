package store

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// buildCheck validates spec and returns the check it describes, with
// defaults filled in. field prefixes field names in errors ("Checks[1].").
func buildCheck(field string, spec CheckSpec) (*Check, error) {
	c := &Check{
		ID: spec.ID, Name: spec.Name, Notes: spec.Notes, ServiceID: spec.ServiceID,
		HTTP: spec.HTTP, Method: spec.Method, Header: spec.Header, Body: spec.Body,
		TLSSkipVerify: spec.TLSSkipVerify, TCP: spec.TCP, TTL: spec.TTL,
		Interval: spec.Interval, Timeout: spec.Timeout,
		SuccessBeforePassing:           spec.SuccessBeforePassing,
		FailuresBeforeCritical:         spec.FailuresBeforeCritical,
		DeregisterCriticalServiceAfter: spec.DeregisterCriticalServiceAfter,
		Status:                         spec.Status, Output: spec.Output,
	}
	kinds := 0
	for _, set := range []bool{spec.HTTP != "", spec.TCP != "", spec.TTL != 0} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		return nil, invalid(field+"HTTP", "a check needs one of HTTP, TCP or TTL; only HTTP, TCP and TTL checks are supported")
	case kinds > 1:
		return nil, invalid(field+"HTTP", "a check has exactly one of HTTP, TCP or TTL")
	case spec.HTTP != "":
		c.Kind = KindHTTP
	case spec.TCP != "":
		c.Kind = KindTCP
	default:
		c.Kind = KindTTL
	}
	if err := checkDurations(field, spec); err != nil {
		return nil, err
	}
	if err := checkTarget(field, c); err != nil {
		return nil, err
	}
	if err := checkText(field, c); err != nil {
		return nil, err
	}
	c.statusGiven = c.Status != ""
	if c.Status == "" {
		c.Status = Critical
	} else if !c.Status.Valid() {
		return nil, invalid(field+"Status", "is %q; it must be passing, warning or critical", trunc(string(c.Status)))
	}
	if c.SuccessBeforePassing < 0 || c.SuccessBeforePassing > 1000 {
		return nil, invalid(field+"SuccessBeforePassing", "is %d; it must be between 0 and 1000", c.SuccessBeforePassing)
	}
	if c.FailuresBeforeCritical < 0 || c.FailuresBeforeCritical > 1000 {
		return nil, invalid(field+"FailuresBeforeCritical", "is %d; it must be between 0 and 1000", c.FailuresBeforeCritical)
	}
	return c, nil
}

func checkDurations(field string, spec CheckSpec) error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Interval", spec.Interval}, {"Timeout", spec.Timeout}, {"TTL", spec.TTL},
		{"DeregisterCriticalServiceAfter", spec.DeregisterCriticalServiceAfter}} {
		if d.v < 0 || d.v > MaxDuration {
			return invalid(field+d.name, "is %s; it must be between 0 and %s", d.v, MaxDuration)
		}
	}
	if d := spec.DeregisterCriticalServiceAfter; d != 0 && d < time.Second {
		return invalid(field+"DeregisterCriticalServiceAfter", "is %s; it must be at least 1s", d)
	}
	return nil
}

func checkTarget(field string, c *Check) error {
	switch c.Kind {
	case KindHTTP:
		u, err := url.Parse(c.HTTP)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid(field+"HTTP", "%q is not an http:// or https:// URL with a host", trunc(c.HTTP))
		}
		if c.Method == "" {
			c.Method = "GET"
		}
		if !validToken(c.Method) {
			return invalid(field+"Method", "%q is not an HTTP method", trunc(c.Method))
		}
	case KindTCP:
		host, port, err := net.SplitHostPort(c.TCP)
		if err != nil || host == "" {
			return invalid(field+"TCP", "%q is not host:port", trunc(c.TCP))
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return invalid(field+"TCP", "%q has port %q; it must be 1 to 65535", trunc(c.TCP), port)
		}
	case KindTTL:
		c.Interval, c.Timeout = 0, 0
		c.Heartbeat = time.Time{}
		return nil
	}
	if c.Interval == 0 {
		return invalid(field+"Interval", "is required for %s checks", strings.ToUpper(string(c.Kind)))
	}
	c.Interval = max(c.Interval, MinInterval)
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	c.Timeout = min(c.Timeout, c.Interval)
	return nil
}

func checkText(field string, c *Check) error {
	for _, t := range []struct{ name, v string }{{"Name", c.Name}, {"Notes", c.Notes}, {"Method", c.Method}} {
		if len(t.v) > MaxTextLen {
			return invalid(field+t.name, "is %d bytes long; at most %d are allowed", len(t.v), MaxTextLen)
		}
	}
	if len(c.Body) > MaxBodyLen {
		return invalid(field+"Body", "is %d bytes long; at most %d are allowed", len(c.Body), MaxBodyLen)
	}
	if len(c.Header) > MaxMetaKeys {
		return invalid(field+"Header", "has %d names; at most %d are allowed", len(c.Header), MaxMetaKeys)
	}
	for k, vs := range c.Header {
		if !validToken(k) {
			return invalid(field+"Header", "%q is not a valid header name", trunc(k))
		}
		for _, v := range vs {
			if len(v) > MaxTextLen || strings.ContainsAny(v, "\r\n\x00") {
				return invalid(field+"Header", "value of %q must be one line of at most %d bytes", trunc(k), MaxTextLen)
			}
		}
	}
	c.Output = CapOutput(c.Output)
	return nil
}

// validToken reports whether s is an RFC 7230 token (methods, header names).
func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
