package store

import (
	"slices"
	"strconv"
	"strings"
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
		Tags: slices.Clone(r.Tags), Meta: r.Meta}
	if in.Address == "" {
		in.Address = s.opts.Advertise
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
