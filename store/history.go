package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// History retention. Each instance keeps its last HistoryLen health
// transitions. They outlive the instance, so that an operator can read
// why one vanished, but not forever: the history of a deregistered
// instance is removed once HistoryGoneMax instances were deregistered
// after it, or HistoryGoneAge after its deregistration
// (looked at whenever an instance is deregistered). Registering the ID
// again continues its history.
const (
	HistoryLen     = 100
	HistoryGoneMax = 1000
	HistoryGoneAge = 7 * 24 * time.Hour
	// historyOutputLen bounds the output kept with a transition: a
	// flapping instance writes its history often, and the first KiB says
	// why as well as the 4 KiB a check keeps.
	historyOutputLen = 1024
)

// Transition is one change of an instance's health.
type Transition struct {
	Time time.Time
	// From and To are the instance's health before and after.
	From Status
	To   Status
	// CheckID names the check whose change caused the transition.
	CheckID string
	// Output is that check's output after the change (the reason, for
	// maintenance mode), cut to its first KiB.
	Output string
}

// histEntry is a transition of one instance, at the change index that
// made it, which orders an instance's transitions and keys them.
type histEntry struct {
	id    string
	index uint64
	tr    Transition
}

// transitionOf returns the transition from old to in, if their health
// differs. The check that caused it is the one whose status reached the
// new health when it got worse, or left the old one when it got better.
func transitionOf(old, in *Instance, now time.Time) (Transition, bool) {
	if old == nil || in == nil || old.Health == in.Health {
		return Transition{}, false
	}
	tr := Transition{Time: now, From: old.Health, To: in.Health}
	if old.Health.Worse(in.Health) == in.Health {
		for _, c := range in.Checks {
			prev := findCheck(old, c.ID)
			if c.Status == in.Health && (prev == nil || prev.Status != c.Status) {
				tr.CheckID, tr.Output = c.ID, checkOutput(c)
				break
			}
		}
	} else {
		for _, c := range old.Checks {
			next := findCheck(in, c.ID)
			switch {
			case c.Status != old.Health:
				continue
			case next == nil && c.Kind == KindMaintenance:
				tr.CheckID, tr.Output = c.ID, "maintenance mode disabled"
			case next == nil:
				tr.CheckID, tr.Output = c.ID, "check removed"
			case next.Status != c.Status:
				tr.CheckID, tr.Output = c.ID, checkOutput(next)
			default:
				continue
			}
			break
		}
	}
	tr.Output = clip(tr.Output, historyOutputLen)
	return tr, true
}

// checkOutput is what a transition keeps of a check: its output, or for
// maintenance mode its reason.
func checkOutput(c *Check) string {
	if c.Kind == KindMaintenance {
		return c.Notes
	}
	return c.Output
}

// clip shortens s to at most n bytes, between characters.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// History returns the instance's health transitions, newest first, at
// most HistoryLen. An ID that is not registered and has no history gives
// an error wrapping ErrNotFound.
//
// On etcd the history is read from etcd, so any node answers alike, and
// an error wrapping ErrUnavailable says etcd did not answer.
func (s *Store) History(id string) ([]Transition, error) {
	if s.remote != nil {
		return s.remote.history(id)
	}
	s.histMu.Lock()
	var pending []histEntry
	for _, e := range s.hist {
		if e.id == id {
			pending = append(pending, e)
		}
	}
	s.histMu.Unlock()
	var stored []histEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		stored, err = readHistory(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the history of %q from %s: %w", id, s.path, err)
	}
	all := mergeHistory(stored, pending)
	if len(all) == 0 && s.Snapshot().Instance(id) == nil {
		return nil, notFound("service", id)
	}
	out := make([]Transition, len(all))
	for i, e := range all {
		out[len(all)-1-i] = e.tr
	}
	return out, nil
}

// mergeHistory joins the stored transitions of one instance with those
// waiting to be written, oldest first, each once (a flush may be under
// way), at most HistoryLen.
func mergeHistory(stored, pending []histEntry) []histEntry {
	all := append(stored, pending...)
	slices.SortStableFunc(all, func(a, b histEntry) int {
		switch {
		case a.index < b.index:
			return -1
		case a.index > b.index:
			return 1
		}
		return 0
	})
	all = slices.CompactFunc(all, func(a, b histEntry) bool { return a.index == b.index })
	if len(all) > HistoryLen {
		all = all[len(all)-HistoryLen:]
	}
	return all
}

// historyRecord is how a transition is kept on disk, its own type so
// that the disk format changes only on purpose.
type historyRecord struct {
	Time    time.Time
	From    Status
	To      Status
	CheckID string `json:",omitempty"`
	Output  string `json:",omitempty"`
}

// historyPrefix starts the keys of id's transitions: the ID, then a NUL,
// which no ID holds (see ValidID), then the big-endian change index.
func historyPrefix(id string) []byte {
	return append([]byte(id), 0)
}

func historyKey(id string, index uint64) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(id), index)
}

// readHistory returns id's stored transitions, oldest first.
func readHistory(tx *bolt.Tx, id string) ([]histEntry, error) {
	b := tx.Bucket(bucketHistory)
	if b == nil {
		return nil, nil
	}
	prefix := historyPrefix(id)
	var out []histEntry
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != len(prefix)+8 {
			return nil, fmt.Errorf("%w: history key %q has the wrong length", ErrCorrupt, trunc(string(k)))
		}
		var r historyRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("%w: history record %q: %v", ErrCorrupt, trunc(string(k)), err)
		}
		out = append(out, histEntry{id: id, index: binary.BigEndian.Uint64(k[len(prefix):]),
			tr: Transition(r)})
	}
	return out, nil
}

// recordWriter changes records of beacon.db within one bolt transaction.
type recordWriter interface {
	put(bucket, k, v []byte) error
	delete(bucket, k []byte) error
}

// writeHistory stores the transitions waiting to be written, keeps the
// last HistoryLen of each instance, and notes which instances of ids are
// gone (get returns nil), removing the oldest histories of those past
// the retention bounds.
func writeHistory(tx *bolt.Tx, w recordWriter, entries []histEntry, ids map[string]struct{}, get func(string) *Instance, now time.Time) error {
	touched := map[string]bool{}
	for _, e := range entries {
		v, err := json.Marshal(historyRecord(e.tr))
		if err != nil {
			return err
		}
		if err := w.put(bucketHistory, historyKey(e.id, e.index), v); err != nil {
			return err
		}
		touched[e.id] = true
	}
	for id := range touched {
		if err := trimHistory(tx, w, id, HistoryLen); err != nil {
			return err
		}
	}
	gone := false
	for id := range ids {
		switch {
		case get(id) == nil:
			if err := w.put(bucketHistoryGone, []byte(id), u64(uint64(now.UnixNano()))); err != nil {
				return err
			}
			gone = true
		case tx.Bucket(bucketHistoryGone).Get([]byte(id)) != nil:
			if err := w.delete(bucketHistoryGone, []byte(id)); err != nil {
				return err
			}
		}
	}
	if !gone {
		return nil
	}
	return sweepGone(tx, w, now)
}

// trimHistory removes the oldest of id's transitions beyond keep.
func trimHistory(tx *bolt.Tx, w recordWriter, id string, keep int) error {
	prefix := historyPrefix(id)
	var keys [][]byte
	c := tx.Bucket(bucketHistory).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	for len(keys) > keep {
		if err := w.delete(bucketHistory, keys[0]); err != nil {
			return err
		}
		keys = keys[1:]
	}
	return nil
}

// sweepGone removes the histories of deregistered instances past the
// retention bounds, oldest deregistration first.
func sweepGone(tx *bolt.Tx, w recordWriter, now time.Time) error {
	type goneAt struct {
		id string
		at uint64
	}
	var all []goneAt
	err := tx.Bucket(bucketHistoryGone).ForEach(func(k, v []byte) error {
		all = append(all, goneAt{id: string(k), at: readU64(v)})
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b goneAt) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return cmpString(a.id, b.id)
	})
	oldest := uint64(max(now.Add(-HistoryGoneAge).UnixNano(), 0))
	for len(all) > 0 && (len(all) > HistoryGoneMax || all[0].at < oldest) {
		if err := trimHistory(tx, w, all[0].id, 0); err != nil {
			return err
		}
		if err := w.delete(bucketHistoryGone, []byte(all[0].id)); err != nil {
			return err
		}
		all = all[1:]
	}
	return nil
}

// knownBucket reports whether name is one of beacon.db's top-level
// buckets.
func knownBucket(name []byte) bool {
	for _, b := range [][]byte{bucketMeta, bucketInstances, bucketHistory, bucketHistoryGone} {
		if string(name) == string(b) {
			return true
		}
	}
	return false
}

// readHistoryBuckets checks the shape of every history record at open
// and adds it to d. It leaves the JSON undecoded: a history as large as
// HistoryLen per instance would cost more to decode than the registry,
// and the digest catches a damaged value as surely.
func readHistoryBuckets(tx *bolt.Tx, path string, d *digest) error {
	hist, gone := tx.Bucket(bucketHistory), tx.Bucket(bucketHistoryGone)
	if hist == nil || gone == nil {
		return damaged(path, "a history bucket is missing")
	}
	err := hist.ForEach(func(k, v []byte) error {
		if v == nil || len(k) < 10 || k[len(k)-9] != 0 {
			return damaged(path, "unexpected history record %q", trunc(string(k)))
		}
		d.add(bucketHistory, k, v)
		return nil
	})
	if err != nil {
		return err
	}
	return gone.ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return damaged(path, "unexpected record %q among the deregistered instances", trunc(string(k)))
		}
		d.add(bucketHistoryGone, k, v)
		return nil
	})
}
