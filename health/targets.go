package health

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
)

// Targets says which addresses HTTP and TCP checks may connect to. Anyone
// allowed to register can otherwise make beacon open connections of their
// choosing from where it runs (and, for HTTP, read the first bytes of the
// answer back through the API): to scan ports, or fetch from services
// that trust the host beacon runs on. The zero value allows any address,
// as Consul does.
//
// The rule is enforced when a connection is made, on the address the
// dialer is about to connect to, so a redirect or a name that resolves
// elsewhere is caught too. It applies to the default Dial and transports
// of Config only.
type Targets struct {
	instance bool           // only the instance's own address
	nets     []netip.Prefix // only these networks, when not empty
}

// ParseTargets reads a Targets: "any", "instance" (each check may connect
// only to its instance's address), or a comma-separated list of CIDRs or
// single addresses (checks may connect only into those networks).
func ParseTargets(s string) (Targets, error) {
	switch strings.TrimSpace(s) {
	case "", "any":
		return Targets{}, nil
	case "instance":
		return Targets{instance: true}, nil
	}
	var t Targets
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil || a.Zone() != "" {
				return Targets{}, fmt.Errorf("%q is not a network; use any, instance, or CIDRs such as 10.0.0.0/8,fd00::/8", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		t.nets = append(t.nets, p.Masked())
	}
	return t, nil
}

// String returns the form ParseTargets reads.
func (t Targets) String() string {
	switch {
	case t.instance:
		return "instance"
	case len(t.nets) == 0:
		return "any"
	}
	s := make([]string, len(t.nets))
	for i, p := range t.nets {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Set parses v into t, so that a Targets is a flag.Value.
func (t *Targets) Set(v string) (err error) {
	*t, err = ParseTargets(v)
	return err
}

func (t Targets) any() bool { return !t.instance && len(t.nets) == 0 }

// instanceKey carries a run's *instanceTarget in its context.
type instanceKey struct{}

// instanceTarget is the address of a check's instance, as registered.
type instanceTarget struct {
	address string     // IP literal or hostname
	addr    netip.Addr // address parsed, when it is an IP literal
}

// TargetError refuses a connection that Targets does not allow.
type TargetError struct {
	Addr netip.Addr
	// Rule is what the address broke, for people.
	Rule string
}

func (e *TargetError) Error() string {
	return fmt.Sprintf("%s is outside -check-targets (%s)", e.Addr, e.Rule)
}

// control is the dialers' Control hook: it lets a connection to address
// go ahead only when t allows it for the check dialing (found in ctx).
func (t Targets) control(ctx context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("check target %q: %w", address, err)
	}
	ip := ap.Addr().Unmap().WithZone("")
	if t.instance {
		in, _ := ctx.Value(instanceKey{}).(*instanceTarget)
		if in == nil {
			return &TargetError{ip, "instance: no instance known for this connection"}
		}
		if in.addr.IsValid() {
			if ip == in.addr.Unmap().WithZone("") {
				return nil
			}
			return &TargetError{ip, "instance: the instance's address is " + in.address}
		}
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", in.address)
		if err != nil {
			return &TargetError{ip, fmt.Sprintf("instance: the instance's address %s does not resolve: %v", in.address, err)}
		}
		if slices.ContainsFunc(addrs, func(a netip.Addr) bool { return a.Unmap().WithZone("") == ip }) {
			return nil
		}
		return &TargetError{ip, "instance: the instance's address " + in.address + " resolves elsewhere"}
	}
	for _, p := range t.nets {
		if p.Contains(ip) {
			return nil
		}
	}
	return &TargetError{ip, t.String()}
}

// dialer returns a dialer of checks that enforces t.
func (t Targets) dialer() *net.Dialer {
	d := &net.Dialer{}
	if !t.any() {
		d.ControlContext = t.control
	}
	return d
}
