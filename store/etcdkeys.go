package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The registry's keys in etcd, under the prefix P (default /beacon):
//
//	P/i/<instance ID>             the instance and its checks, statuses left out
//	P/c/<instance ID>/<check ID>  one check's status, output and heartbeat
//
// One key per instance and per check keeps every request far below etcd's
// limits (1.5 MiB a request, 128 operations a transaction) however large
// the registry, and lets a status change rewrite only its own small key.
// IDs never contain '/' (ValidID), so "P/c/<id>/" holds exactly the
// statuses of one instance.
const (
	defDir    = "i/"
	statusDir = "c/"
)

// keyRev is what the store knows of one etcd key: the revisions a guarded
// write compares against, and for a status key the heartbeat it holds.
type keyRev struct {
	mod, create int64
	beat        time.Time
}

// defKey and statusKey are keys relative to the prefix, as kept in
// Snapshot.revs.
func defKey(id string) string           { return defDir + id }
func statusKey(id, check string) string { return statusDir + id + "/" + check }
func statusPrefix(id string) string     { return statusDir + id + "/" }

// parseKey splits a relative key into the instance ID and, for a status
// key, the check ID.
func parseKey(k string) (id, check string, ok bool) {
	switch {
	case strings.HasPrefix(k, defDir):
		id = k[len(defDir):]
		return id, "", id != ""
	case strings.HasPrefix(k, statusDir):
		id, check, ok = strings.Cut(k[len(statusDir):], "/")
		return id, check, ok && id != "" && check != ""
	}
	return "", "", false
}

// statusRecord is the value of a status key.
type statusRecord struct {
	Status Status
	Output string `json:",omitempty"`
	Since  time.Time
	// Beat is the last TTL report that reached etcd.
	Beat time.Time `json:",omitzero"`
}

// encodeDef encodes an instance without what changes at run time: check
// statuses, outputs, heartbeats and indexes (these come from the status
// keys and from etcd's revisions). Two instances with equal definitions
// encode to equal bytes.
func encodeDef(in *Instance) ([]byte, error) {
	d := *in
	d.CreateIndex, d.ModifyIndex = 0, 0
	d.Checks = make([]*Check, len(in.Checks))
	for i, c := range in.Checks {
		cc := *c
		cc.Status, cc.Output, cc.StatusSince, cc.Heartbeat = Critical, "", time.Time{}, time.Time{}
		cc.CreateIndex, cc.ModifyIndex = 0, 0
		d.Checks[i] = &cc
	}
	return encodeInstance(&d)
}

func encodeStatus(c *Check) ([]byte, error) {
	r := statusRecord{Status: c.Status, Output: c.Output, Since: c.StatusSince}
	if c.Kind == KindTTL {
		r.Beat = c.Heartbeat
	}
	return json.Marshal(r)
}

func decodeStatus(b []byte) (statusRecord, error) {
	var r statusRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return r, err
	}
	if !r.Status.Valid() {
		return r, fmt.Errorf("status %q", r.Status)
	}
	return r, nil
}
