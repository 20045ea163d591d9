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
//	P/c/<instance ID>/<check ID>  one check's status and output
//	P/b/<instance ID>/<check ID>  a TTL check's last report, when only that changed
//	P/gone/<service>              rewritten by each removal from the service
//	P/n/<node>                    a live node, under that node's lease
//
// One key per instance and per check keeps every request far below etcd's
// limits (1.5 MiB a request, 128 operations a transaction) however large
// the registry, and lets a status change rewrite only its own small key.
// IDs never contain '/' (ValidID), so "P/c/<id>/" holds exactly the
// statuses of one instance.
//
// Every write to a status key is a change readers see, and a heartbeat
// alone goes to the beat key: so a node that loads the registry can tell
// each service's index (the revision of its last visible change, removals
// counted through its gone key) exactly as a node that watched every
// change did.
const (
	defDir    = "i/"
	statusDir = "c/"
	beatDir   = "b/"
	goneDir   = "gone/"
	memberDir = "n/"
)

// keyKind says what a key under the prefix holds.
type keyKind int

const (
	keyOther keyKind = iota
	keyDef
	keyStatus
	keyBeat
	keyGone
	keyMember
)

// keyRev is what the store knows of one etcd key: the revisions a guarded
// write compares against, and for a status or beat key the heartbeat it
// holds.
type keyRev struct {
	mod, create int64
	beat        time.Time
}

// Keys relative to the prefix, as kept in Snapshot.revs.
func defKey(id string) string           { return defDir + id }
func statusKey(id, check string) string { return statusDir + id + "/" + check }
func statusPrefix(id string) string     { return statusDir + id + "/" }
func beatKey(id, check string) string   { return beatDir + id + "/" + check }
func beatPrefix(id string) string       { return beatDir + id + "/" }
func goneKey(service string) string     { return goneDir + service }
func memberKey(node string) string      { return memberDir + node }

// parseKey splits a relative key into its kind, the instance ID (the
// service name for a gone key) and, for status and beat keys, the check
// ID.
func parseKey(k string) (kind keyKind, id, check string) {
	cut := func(rest string, kind keyKind) (keyKind, string, string) {
		id, check, ok := strings.Cut(rest, "/")
		if !ok || id == "" || check == "" {
			return keyOther, "", ""
		}
		return kind, id, check
	}
	switch {
	case strings.HasPrefix(k, defDir) && len(k) > len(defDir):
		return keyDef, k[len(defDir):], ""
	case strings.HasPrefix(k, statusDir):
		return cut(k[len(statusDir):], keyStatus)
	case strings.HasPrefix(k, beatDir):
		return cut(k[len(beatDir):], keyBeat)
	case strings.HasPrefix(k, goneDir) && len(k) > len(goneDir):
		return keyGone, k[len(goneDir):], ""
	case strings.HasPrefix(k, memberDir) && len(k) > len(memberDir):
		return keyMember, k[len(memberDir):], ""
	}
	return keyOther, "", ""
}

// statusRecord is the value of a status key, and of a beat key (which
// holds only Beat).
type statusRecord struct {
	Status Status    `json:",omitempty"`
	Output string    `json:",omitempty"`
	Since  time.Time `json:",omitzero"`
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

func encodeBeat(c *Check) ([]byte, error) { return json.Marshal(statusRecord{Beat: c.Heartbeat}) }

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

func decodeBeat(b []byte) (time.Time, error) {
	var r statusRecord
	err := json.Unmarshal(b, &r)
	return r.Beat, err
}
