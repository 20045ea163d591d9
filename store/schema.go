package store

import "encoding/binary"

// SchemaVersion is the layout of beacon.db this code reads and writes.
// Version 2 added the digest of every record (see digest); a version 1
// file gets one when it is first opened. Version 3 added the health
// history (see history.go), whose buckets an older file gets when it is
// first opened, so that an older beacon refuses the file as newer rather
// than as damaged.
const SchemaVersion = 3

// Every bucket and meta key of beacon.db, declared once.
var (
	// bucketMeta holds the schema version, the change index, the node ID
	// and the digest of every record.
	bucketMeta = []byte("meta")
	// bucketInstances maps instance ID to its JSON record, checks included.
	bucketInstances = []byte("instances")
	// bucketHistory maps instance ID, a NUL and a big-endian change index
	// to one health transition as JSON; see history.go.
	bucketHistory = []byte("history")
	// bucketHistoryGone maps the ID of a deregistered instance whose
	// history is kept to the big-endian Unix nanoseconds of its
	// deregistration.
	bucketHistoryGone = []byte("history-gone")

	keySchema = []byte("schema")
	// keyIndex holds a ceiling on every change index handed out so far,
	// and after a clean Close the exact last one; see Store.load.
	keyIndex  = []byte("index")
	keyNodeID = []byte("node-id")
	keyDigest = []byte("digest")
)

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
