package store

import "encoding/binary"

// SchemaVersion is the layout of beacon.db this code reads and writes.
const SchemaVersion = 1

// Every bucket and meta key of beacon.db, declared once.
var (
	// bucketMeta holds the schema version, the change index and the node ID.
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
	// keyIndex holds a ceiling on every change index handed out so far;
	// see Store.reserveIndex.
	keyIndex  = []byte("index")
	keyNodeID = []byte("node-id")
)

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
