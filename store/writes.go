package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaintenanceCheckPrefix starts the ID of the check maintenance mode adds.
const MaintenanceCheckPrefix = "_service_maintenance:"

// defaultMaintenanceNote is Consul's note when no reason is given.
const defaultMaintenanceNote = "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."

// Register validates r and registers or replaces the instance it
// describes. It returns once the write is durable on disk.
func (s *Store) Register(r Registration) (*Instance, error) {
	var out *Instance
	err := s.do(true, func(t *txn) error {
		in, err := s.buildInstance(t, r)
		if err != nil {
			return err
		}
		old := t.instance(in.ID)
		if old != nil && sameInstance(old, in) {
			// Clients that re-register periodically change nothing, so
			// nobody is woken and no index is spent.
			out = old
			return nil
		}
		in.ModifyIndex = t.bump()
		in.CreateIndex = in.ModifyIndex
		if old != nil {
			in.CreateIndex = old.CreateIndex
		}
		t.put(old, in, true, true)
		out = in
		return nil
	})
	return out, err
}

// Deregister removes an instance and its checks, durably.
func (s *Store) Deregister(id string) error {
	return s.do(true, func(t *txn) error {
		old := t.instance(id)
		if old == nil {
			return notFound("service", id)
		}
		t.bump()
		t.put(old, nil, true, true)
		return nil
	})
}

// RegisterCheck adds or replaces one check of the instance spec.ServiceID,
// durably.
func (s *Store) RegisterCheck(spec CheckSpec) error {
	return s.do(true, func(t *txn) error {
		if spec.ServiceID == "" {
			return invalid("ServiceID", "is required; beacon has no node-level checks")
		}
		old := t.instance(spec.ServiceID)
		if old == nil {
			return notFound("service", spec.ServiceID)
		}
		if spec.ID == "" {
			spec.ID = spec.Name
		}
		if spec.ID == "" {
			return invalid("Name", "is required when CheckID is not given")
		}
		c, err := s.buildCheckFor(t, "", old.ID, old.Name, spec)
		if err != nil {
			return err
		}
		checks := withoutCheck(old.Checks, c.ID)
		if n := countChecks(checks); n >= MaxChecks {
			return invalid("CheckID", "instance %q already has %d checks; at most %d are allowed", old.ID, n, MaxChecks)
		}
		in := *old
		in.Checks = sortChecks(append(checks, keepStatus(c, findCheck(old, c.ID), t)))
		t.stamp(&in, old)
		t.put(old, &in, true, true)
		return nil
	})
}

// DeregisterCheck removes one check, durably.
func (s *Store) DeregisterCheck(checkID string) error {
	return s.do(true, func(t *txn) error {
		old := t.checkOwner(checkID)
		if old == nil {
			return notFound("check", checkID)
		}
		in := *old
		in.Checks = withoutCheck(old.Checks, checkID)
		t.stamp(&in, old)
		t.put(old, &in, true, true)
		return nil
	})
}

// SetMaintenance puts an instance in maintenance mode (a critical check
// named "Service Maintenance Mode") or takes it out, durably.
func (s *Store) SetMaintenance(id string, enable bool, reason string) error {
	return s.do(true, func(t *txn) error {
		old := t.instance(id)
		if old == nil {
			return notFound("service", id)
		}
		cid := MaintenanceCheckPrefix + id
		prev := findCheck(old, cid)
		if !enable && prev == nil {
			return nil
		}
		in := *old
		in.Checks = withoutCheck(old.Checks, cid)
		if enable {
			if reason == "" {
				reason = defaultMaintenanceNote
			}
			if len(reason) > MaxTextLen {
				return invalid("reason", "is %d bytes long; at most %d are allowed", len(reason), MaxTextLen)
			}
			if prev != nil && prev.Notes == reason {
				return nil
			}
			in.Checks = sortChecks(append(in.Checks, &Check{
				ID: cid, Name: "Service Maintenance Mode", Notes: reason, ServiceID: id,
				Kind: KindMaintenance, Status: Critical, StatusSince: t.now,
			}))
		}
		t.stamp(&in, old)
		t.put(old, &in, true, true)
		return nil
	})
}

// UpdateTTL records a report for a TTL check: it refreshes the heartbeat,
// and sets status and output. The status change reaches disk within the
// flush interval; the snapshot shows it at once.
func (s *Store) UpdateTTL(checkID string, status Status, output string) error {
	if !status.Valid() {
		return invalid("Status", "is %q; it must be passing, warning or critical", trunc(string(status)))
	}
	return s.do(false, func(t *txn) error {
		c, old := t.check(checkID)
		if c == nil {
			return notFound("check", checkID)
		}
		if c.Kind != KindTTL {
			return invalid("CheckID", "%q is a %s check, not a TTL check; only TTL checks take updates", checkID, c.Kind)
		}
		nc := *c
		nc.Heartbeat = t.now
		t.setStatus(old, &nc, status, output)
		return nil
	})
}

// SetCheckStatus records the result of an HTTP or TCP check, or of a TTL
// check that expired. It is a no-op when nothing changes. A check that no
// longer exists gives ErrNotFound.
func (s *Store) SetCheckStatus(checkID string, status Status, output string) error {
	if !status.Valid() {
		return invalid("Status", "is %q; it must be passing, warning or critical", trunc(string(status)))
	}
	return s.do(false, func(t *txn) error {
		c, old := t.check(checkID)
		if c == nil {
			return notFound("check", checkID)
		}
		nc := *c
		t.setStatus(old, &nc, status, output)
		return nil
	})
}

// ExpireTTL turns a TTL check critical if its TTL has passed with no
// report. It decides inside the committer, so a report that arrives at the
// last moment wins.
func (s *Store) ExpireTTL(checkID string) error {
	return s.do(false, func(t *txn) error {
		c, old := t.check(checkID)
		if c == nil {
			return notFound("check", checkID)
		}
		if c.Kind != KindTTL || t.now.Before(c.TTLDeadline()) || c.Status == Critical {
			return nil
		}
		nc := *c
		out := fmt.Sprintf("TTL expired: no report for %s (last at %s)", c.TTL, c.Heartbeat.UTC().Format("2006-01-02T15:04:05Z"))
		t.setStatus(old, &nc, Critical, out)
		return nil
	})
}

func (t *txn) check(id string) (*Check, *Instance) {
	in := t.checkOwner(id)
	if in == nil {
		return nil, nil
	}
	return findCheck(in, id), in
}

// setStatus stores nc (a copy of a check of old) with the new status and
// output. A change visible to readers takes a new index; a bare heartbeat
// only refreshes the snapshot.
func (t *txn) setStatus(old *Instance, nc *Check, status Status, output string) {
	if len(output) > MaxOutputLen {
		output = output[:MaxOutputLen]
	}
	prev := findCheck(old, nc.ID)
	visible := status != prev.Status || output != prev.Output
	if !visible && nc.Heartbeat.Equal(prev.Heartbeat) {
		return
	}
	in := *old
	if visible {
		idx := t.bump()
		if status != prev.Status {
			nc.StatusSince = t.now
		}
		// As in Consul, a check's change moves the check's and the
		// service's index, not the instance's ModifyIndex.
		nc.Status, nc.Output, nc.ModifyIndex = status, output, idx
	}
	in.Checks = slices.Clone(old.Checks)
	in.Checks[slices.Index(old.Checks, prev)] = nc
	t.put(old, &in, false, visible)
}

// stamp gives in (a modified copy of old) the next change index.
func (t *txn) stamp(in, old *Instance) {
	in.ModifyIndex = t.bump()
	in.CreateIndex = old.CreateIndex
}

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
