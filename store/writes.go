package store

import (
	"fmt"
	"slices"
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
	return s.report(checkID, status, output, true)
}

// SetCheckStatus records the result of an HTTP or TCP check. It is a no-op
// when nothing changes. A check that no longer exists gives ErrNotFound.
func (s *Store) SetCheckStatus(checkID string, status Status, output string) error {
	return s.report(checkID, status, output, false)
}

// report sets a check's status and output; heartbeat says it is a TTL
// report, which only TTL checks take and which restarts their TTL.
func (s *Store) report(checkID string, status Status, output string, heartbeat bool) error {
	if !status.Valid() {
		return invalid("Status", "is %q; it must be passing, warning or critical", trunc(string(status)))
	}
	op := func(t *txn) error {
		c, old := t.check(checkID)
		if c == nil {
			return notFound("check", checkID)
		}
		nc := *c
		if heartbeat {
			if c.Kind != KindTTL {
				return invalid("CheckID", "%q is a %s check, not a TTL check; only TTL checks take updates", checkID, c.Kind)
			}
			nc.Heartbeat = t.now
		}
		t.setStatus(old, &nc, status, output)
		return nil
	}
	if s.remote != nil && !heartbeat {
		// A check's result on etcd is written only by a live member.
		return s.remote.doFenced(op)
	}
	return s.do(false, op)
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
	output = CapOutput(output)
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
