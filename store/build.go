package store

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// buildInstance validates r against the registry in t and returns the new
// instance, keeping the status of checks it re-registers unchanged.
func (s *Store) buildInstance(t *txn, r Registration) (*Instance, error) {
	name := strings.ToLower(r.Name)
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if r.ID == "" {
		r.ID = name
	}
	if err := ValidID("ID", r.ID); err != nil {
		return nil, err
	}
	in := &Instance{ID: r.ID, Name: name, Address: r.Address, Port: r.Port,
		Tags: slices.Clone(r.Tags), Meta: r.Meta, EnableTagOverride: r.EnableTagOverride}
	if in.Address == "" {
		in.Address, in.NoAddress = s.opts.Advertise, true
	}
	addr, err := ParseAddress(in.Address)
	if err != nil {
		return nil, err
	}
	in.Addr = addr
	if r.Port < 0 || r.Port > 65535 {
		return nil, invalid("Port", "is %d; it must be between 0 and 65535", r.Port)
	}
	if err := validTags(r.Tags); err != nil {
		return nil, err
	}
	if err := validMeta(r.Meta); err != nil {
		return nil, err
	}
	if in.Weights, err = validWeights(r.Weights); err != nil {
		return nil, err
	}
	if in.TaggedAddresses, err = validTaggedAddresses(r.TaggedAddresses); err != nil {
		return nil, err
	}
	if in.Locality, err = validLocality(r.Locality); err != nil {
		return nil, err
	}
	checks, err := s.buildChecks(t, r, in)
	if err != nil {
		return nil, err
	}
	in.Checks = mergeChecks(t.instance(in.ID), checks, r.ReplaceExistingChecks, t)
	if n := countChecks(in.Checks); n > MaxChecks {
		return nil, invalid("Checks", "would give instance %q %d checks with those it keeps; at most %d are allowed (re-register with replace-existing-checks to drop old ones)", in.ID, n, MaxChecks)
	}
	return in, nil
}

// MaxTaggedAddresses bounds the tagged addresses of one instance.
const MaxTaggedAddresses = 16

// familyOf names the address family Consul requires of its own tagged
// address keys; other keys take any address.
var familyOf = map[string]string{"lan_ipv4": "ipv4", "wan_ipv4": "ipv4", "lan_ipv6": "ipv6", "wan_ipv6": "ipv6"}

// validTaggedAddresses checks tagged addresses as Consul does (its own
// lan_/wan_ keys hold an address of their family) and within beacon's
// bounds, and returns a copy the store may keep; nil for none.
func validTaggedAddresses(m map[string]ServiceAddress) (map[string]ServiceAddress, error) {
	if len(m) == 0 {
		return nil, nil
	}
	if len(m) > MaxTaggedAddresses {
		return nil, invalid("TaggedAddresses", "has %d entries; at most %d are allowed", len(m), MaxTaggedAddresses)
	}
	for k, sa := range m {
		if k == "" || len(k) > MaxMetaKeyLen || strings.IndexFunc(k, func(r rune) bool {
			return r > 127 || !isAlnum(byte(r)) && r != '-' && r != '_'
		}) >= 0 {
			return nil, invalid("TaggedAddresses", "key %q must be 1 to %d letters, digits, '-' or '_'", trunc(k), MaxMetaKeyLen)
		}
		f := "TaggedAddresses[" + strconv.Quote(k) + "]"
		a, err := ParseAddress(sa.Address)
		if sa.Address == "" || err != nil {
			return nil, invalid(f+".Address", "%q is neither an IP address nor a hostname", trunc(sa.Address))
		}
		switch fam := familyOf[k]; {
		case fam == "ipv4" && !(a.IsValid() && a.Is4()):
			return nil, invalid(f+".Address", "%q must be an IPv4 address, as the key says", trunc(sa.Address))
		case fam == "ipv6" && !(a.IsValid() && a.Is6()):
			return nil, invalid(f+".Address", "%q must be an IPv6 address, as the key says", trunc(sa.Address))
		}
		if sa.Port < 0 || sa.Port > 65535 {
			return nil, invalid(f+".Port", "is %d; it must be between 0 and 65535", sa.Port)
		}
	}
	return maps.Clone(m), nil
}

// maxLocalityLen bounds Locality.Region and Locality.Zone.
const maxLocalityLen = 128

// validLocality checks a locality and returns a copy; nil when it names
// nothing.
func validLocality(l *Locality) (*Locality, error) {
	if l == nil || *l == (Locality{}) {
		return nil, nil
	}
	for _, f := range []struct{ name, v string }{{"Locality.Region", l.Region}, {"Locality.Zone", l.Zone}} {
		if len(f.v) > maxLocalityLen {
			return nil, invalid(f.name, "is %d bytes long; at most %d are allowed", len(f.v), maxLocalityLen)
		}
		if !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, unicode.IsControl) {
			return nil, invalid(f.name, "must be valid UTF-8 without control characters")
		}
	}
	c := *l
	return &c, nil
}

func (s *Store) buildChecks(t *txn, r Registration, in *Instance) ([]*Check, error) {
	if len(r.Checks) > MaxChecks {
		return nil, invalid("Checks", "has %d checks; at most %d are allowed", len(r.Checks), MaxChecks)
	}
	seen := map[string]bool{}
	var out []*Check
	for i, spec := range r.Checks {
		field := "Checks[" + strconv.Itoa(i) + "]."
		if spec.ID == "" {
			spec.ID = "service:" + in.ID
			if len(r.Checks) > 1 {
				spec.ID += ":" + strconv.Itoa(i+1)
			}
		}
		c, err := s.buildCheckFor(t, field, in.ID, in.Name, spec)
		if err != nil {
			return nil, err
		}
		if seen[c.ID] {
			return nil, invalid(field+"CheckID", "%q is used by two checks of this registration", c.ID)
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	return out, nil
}

// buildCheckFor validates a check of instance id and fills in Consul's
// defaults for its name.
func (s *Store) buildCheckFor(t *txn, field, id, name string, spec CheckSpec) (*Check, error) {
	if err := ValidID(field+"CheckID", spec.ID); err != nil {
		return nil, err
	}
	if strings.HasPrefix(spec.ID, MaintenanceCheckPrefix) {
		return nil, invalid(field+"CheckID", "%q uses the prefix reserved for maintenance mode", spec.ID)
	}
	if owner := t.checkOwner(spec.ID); owner != nil && owner.ID != id {
		return nil, invalid(field+"CheckID", "%q already belongs to instance %q", spec.ID, owner.ID)
	}
	spec.ServiceID = id
	if spec.Name == "" {
		spec.Name = "Service '" + name + "' check"
	}
	c, err := buildCheck(field, spec)
	if err != nil {
		return nil, err
	}
	c.StatusSince, c.CreateIndex = t.now, t.index+1
	if c.Kind == KindTTL {
		c.Heartbeat = t.now
	}
	return c, nil
}

// mergeChecks combines the checks of a new registration with those of the
// instance it replaces: a re-registered check keeps its status, unnamed
// ones stay unless replace is set, and maintenance mode always stays.
func mergeChecks(old *Instance, checks []*Check, replace bool, t *txn) []*Check {
	out := make([]*Check, 0, len(checks))
	named := map[string]bool{}
	for _, c := range checks {
		named[c.ID] = true
		var prev *Check
		if old != nil {
			prev = findCheck(old, c.ID)
		}
		out = append(out, keepStatus(c, prev, t))
	}
	if old != nil {
		for _, c := range old.Checks {
			if !named[c.ID] && (!replace || c.Kind == KindMaintenance) {
				out = append(out, c)
			}
		}
	}
	return sortChecks(out)
}

// keepStatus carries the status of prev over to its re-registration c when
// c checks the same target the same way and asks for no status of its own.
func keepStatus(c, prev *Check, t *txn) *Check {
	c.ModifyIndex = t.index + 1
	if prev == nil || prev.Kind != c.Kind || prev.HTTP != c.HTTP || prev.TCP != c.TCP || prev.TTL != c.TTL {
		return c
	}
	c.CreateIndex = prev.CreateIndex
	if !c.statusGiven {
		c.Status, c.Output, c.StatusSince, c.Heartbeat = prev.Status, prev.Output, prev.StatusSince, prev.Heartbeat
	}
	return c
}

// countChecks counts the checks that count against MaxChecks: all but
// maintenance mode's.
func countChecks(checks []*Check) int {
	n := 0
	for _, c := range checks {
		if c.Kind != KindMaintenance {
			n++
		}
	}
	return n
}

func withoutCheck(checks []*Check, id string) []*Check {
	return slices.DeleteFunc(slices.Clone(checks), func(c *Check) bool { return c.ID == id })
}

func sortChecks(cs []*Check) []*Check {
	slices.SortFunc(cs, func(a, b *Check) int { return cmpString(a.ID, b.ID) })
	return cs
}
