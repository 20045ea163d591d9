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
// as Consul does. The instance rule ties each check to the address its
// instance was registered with, which makes every target a registered,
// visible address but is chosen by the registrant too; networks bound the
// addresses themselves.
//
// The rules are enforced when a connection is made, on the address the
// dialer is about to connect to, so a redirect or a name that resolves
// elsewhere is caught too. They apply to the default Dial and transports
// of Config only.
type Targets struct {
	instance bool           // only the instance's own address
	nets     []netip.Prefix // only these networks, when not empty
}

// ParseTargets reads a Targets: "any"; or a comma-separated list of
// "instance" (each check may connect only to its own instance's address)
// and CIDRs or single addresses (checks may connect only into those
// networks); both rules apply when both are given.
func ParseTargets(s string) (Targets, error) {
	if f := strings.TrimSpace(s); f == "" || f == "any" {
		return Targets{}, nil
	}
	var t Targets
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "instance" {
			t.instance = true
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil || a.Zone() != "" {
				return Targets{}, fmt.Errorf("%q is not a network; use any, or instance and CIDRs such as 10.0.0.0/8,fd00::/8", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		t.nets = append(t.nets, p.Masked())
	}
	return t, nil
}

// String returns the form ParseTargets reads.
func (t Targets) String() string {
	if t.any() {
		return "any"
	}
	var s []string
	if t.instance {
		s = append(s, "instance")
	}
	for _, p := range t.nets {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

// networks is the list of networks alone, for messages.
func (t Targets) networks() string { return Targets{nets: t.nets}.String() }

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
		if err := instanceOnly(ctx, ip); err != nil {
			return err
		}
	}
	if len(t.nets) > 0 && !slices.ContainsFunc(t.nets, func(p netip.Prefix) bool { return p.Contains(ip) }) {
		return &TargetError{ip, t.networks()}
	}
	return nil
}

// instanceOnly refuses ip unless it is the address of the instance whose
// check is dialing (found in ctx).
func instanceOnly(ctx context.Context, ip netip.Addr) error {
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

// dialer returns a dialer of checks that enforces t.
func (t Targets) dialer() *net.Dialer {
	d := &net.Dialer{}
	if !t.any() {
		d.ControlContext = t.control
	}
	return d
}
