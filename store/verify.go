package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// contents is what Open reads from beacon.db.
type contents struct {
	// fresh says the file holds nothing yet: bolt just created it.
	fresh  bool
	schema uint64
	index  uint64
	nodeID string
	ins    []*Instance
	// digest is recomputed from the records read.
	digest digest
}

// readFile reads every record of beacon.db and checks that the file holds
// what beacon wrote: the two buckets and nothing else, a known schema,
// records that decode under the key they are stored at, and, from schema
// version 2 on, exactly the records the stored digest adds up to.
//
// Reading every page here, in the goroutine that turns faults into
// panics, also means that bbolt's own check (checkPages), which runs in a
// goroutine of its own, touches no page that was not read here first.
func readFile(tx *bolt.Tx, path string, now time.Time) (*contents, error) {
	c := &contents{}
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return nil, damaged(path, "the meta bucket is missing")
		}
		c.fresh = true
		return c, nil
	}
	sv := meta.Get(keySchema)
	c.schema = readU64(sv)
	switch {
	case c.schema > SchemaVersion:
		return nil, fmt.Errorf("%s has schema version %d, but this beacon reads only up to %d: %w; run a newer beacon",
			path, c.schema, SchemaVersion, ErrSchemaNewer)
	case c.schema == 0:
		return nil, damaged(path, "the schema version is %x", sv)
	}
	err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if b == nil || !knownBucket(name) {
			return damaged(path, "unexpected record %q at the top level", trunc(string(name)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = meta.ForEach(func(k, v []byte) error {
		if v == nil {
			return damaged(path, "unexpected bucket %q in the meta bucket", trunc(string(k)))
		}
		if counted(bucketMeta, k) {
			c.digest.add(bucketMeta, k, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.index = readU64(meta.Get(keyIndex))
	c.nodeID = string(meta.Get(keyNodeID))
	b := tx.Bucket(bucketInstances)
	if b == nil {
		return nil, damaged(path, "the instances bucket is missing")
	}
	err = b.ForEach(func(k, v []byte) error {
		if v == nil {
			return damaged(path, "unexpected bucket %q among the instances", trunc(string(k)))
		}
		in, err := decodeInstance(v, now)
		if err != nil {
			return damaged(path, "record %q: %v", trunc(string(k)), err)
		}
		if in.ID != string(k) {
			return damaged(path, "record %q holds instance %q", trunc(string(k)), trunc(in.ID))
		}
		c.digest.add(bucketInstances, k, v)
		c.ins = append(c.ins, in)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.schema >= 3 {
		if err := readHistoryBuckets(tx, path, &c.digest); err != nil {
			return nil, err
		}
	}
	if c.schema < 2 {
		return c, nil
	}
	stored, ok := readDigest(meta.Get(keyDigest))
	switch {
	case !ok:
		return nil, damaged(path, "the digest of its records is missing")
	case stored != c.digest:
		return nil, damaged(path, "its records do not add up to their digest: %d read, %d written", c.digest.n, stored.n)
	case c.nodeID == "":
		return nil, damaged(path, "the node ID is missing")
	}
	return c, nil
}

// checkPages runs bbolt's consistency check over the whole file: every
// page reachable once or free, never both, and keys in order within and
// across pages. It needs a read-only transaction with no writer at work.
func checkPages(tx *bolt.Tx, path string) error {
	var first error
	n := 0
	// The channel must be drained: the check's goroutine ends only then.
	for err := range tx.Check() {
		if first == nil {
			first = err
		}
		n++
	}
	if first == nil {
		return nil
	}
	return damaged(path, "bbolt's check found %d problems, the first: %v", n, first)
}

// damaged is the one-line refusal of a damaged beacon.db.
func damaged(path, format string, args ...any) error {
	detail := cut(fmt.Sprintf(format, args...), 240)
	return fmt.Errorf("%s is damaged (%s): %w; restore it from a backup or move it away to start empty", path, detail, ErrCorrupt)
}
