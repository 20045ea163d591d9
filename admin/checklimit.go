package admin

import (
	"strconv"
	"strings"

	"github.com/beacon-dns/beacon/store"
)

// The store bounds the checks one request carries (store.MaxChecks) but
// not the checks an instance ends up with: checks kept from an earlier
// registration, or added one at a time, come on top, so repeated
// registrations could grow an instance without bound. These pre-checks
// refuse such writes against the current snapshot. Two concurrent writes
// to one instance can still pass them together; that bounds the excess to
// what those requests carry. The maintenance check does not count, as it
// does not in a registration.

// roomForRegistration refuses a registration that would leave its
// instance with more than store.MaxChecks checks.
func roomForRegistration(snap *store.Snapshot, reg *store.Registration) error {
	id := reg.ID
	if id == "" {
		id = strings.ToLower(reg.Name)
	}
	in := snap.Instance(id)
	if in == nil || reg.ReplaceExistingChecks {
		return nil
	}
	named := make(map[string]bool, len(reg.Checks))
	for i, c := range reg.Checks {
		named[defaultCheckID(id, c.ID, i, len(reg.Checks))] = true
	}
	kept := 0
	for _, c := range in.Checks {
		if c.Kind != store.KindMaintenance && !named[c.ID] {
			kept++
		}
	}
	if total := kept + len(reg.Checks); total > store.MaxChecks {
		return badRequest("Checks: instance %s would have %d checks, %d of them kept from its earlier registration; at most %d are allowed (re-register with ?replace-existing-checks to drop the old ones)",
			quote(id), total, kept, store.MaxChecks)
	}
	return nil
}

// roomForCheck refuses a check added to an instance that already has
// store.MaxChecks others.
func roomForCheck(snap *store.Snapshot, spec store.CheckSpec) error {
	in := snap.Instance(spec.ServiceID)
	if in == nil {
		return nil
	}
	id := spec.ID
	if id == "" {
		id = spec.Name
	}
	others := 0
	for _, c := range in.Checks {
		if c.Kind != store.KindMaintenance && c.ID != id {
			others++
		}
	}
	if others >= store.MaxChecks {
		return badRequest("CheckID: instance %s already has %d checks; at most %d are allowed", quote(in.ID), others, store.MaxChecks)
	}
	return nil
}

// defaultCheckID is the ID the store gives the i-th of n checks of
// instance id: its own, else Consul's service:<id>, or service:<id>:<i+1>
// when there are several.
func defaultCheckID(id, given string, i, n int) string {
	switch {
	case given != "":
		return given
	case n > 1:
		return "service:" + id + ":" + strconv.Itoa(i+1)
	}
	return "service:" + id
}
