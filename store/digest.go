package store

import (
	"encoding/binary"
	"hash/crc64"

	bolt "go.etcd.io/bbolt"
)

// BoltDB checksums only its meta pages: a damaged byte in any other page
// can lose records or change them without bbolt noticing. beacon.db
// therefore keeps a digest of every record: how many there are and the
// XOR of a hash of each (bucket, key, value). Every write keeps it in step
// at the cost of reading the old value it replaces, and Open recomputes it
// while it loads everything anyway, so a file whose records no longer add
// up is refused instead of being loaded in part.
//
// The hash of a record is a CRC-64, which is fast, passed through a
// non-linear mix. The CRC alone is linear: the same damage at the same
// place in two records of one length changes both CRCs alike, and the two
// changes cancel in the XOR.
type digest struct {
	n   uint64
	sum uint64
}

var crcTable = crc64.MakeTable(crc64.ECMA)

func recordSum(bucket, k, v []byte) uint64 {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(bucket)))
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(k)))
	h := crc64.Update(0, crcTable, hdr[:])
	h = crc64.Update(h, crcTable, bucket)
	h = crc64.Update(h, crcTable, k)
	return mix(crc64.Update(h, crcTable, v))
}

// mix is the 64-bit finaliser of MurmurHash3: a bijection in which every
// input bit flips about half the output bits.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func (d *digest) add(bucket, k, v []byte) {
	d.n++
	d.sum ^= recordSum(bucket, k, v)
}

func (d *digest) remove(bucket, k, v []byte) {
	d.n--
	d.sum ^= recordSum(bucket, k, v)
}

func (d digest) bytes() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, d.n), d.sum)
}

func readDigest(b []byte) (digest, bool) {
	if len(b) != 16 {
		return digest{}, false
	}
	return digest{n: binary.BigEndian.Uint64(b), sum: binary.BigEndian.Uint64(b[8:])}, true
}

// counted reports whether a record belongs in the digest: all do but the
// digest itself.
func counted(bucket, k []byte) bool {
	return string(bucket) != string(bucketMeta) || string(k) != string(keyDigest)
}

// writer changes records of beacon.db in one bolt transaction and keeps
// the digest in step; every write to the file goes through one.
type writer struct {
	tx *bolt.Tx
	d  digest
}

// newWriter starts changing the records of tx from the digest it holds.
func newWriter(tx *bolt.Tx) *writer {
	d, _ := readDigest(tx.Bucket(bucketMeta).Get(keyDigest))
	return &writer{tx: tx, d: d}
}

func (w *writer) put(bucket, k, v []byte) error {
	b := w.tx.Bucket(bucket)
	if old := b.Get(k); old != nil {
		w.d.remove(bucket, k, old)
	}
	w.d.add(bucket, k, v)
	return b.Put(k, v)
}

func (w *writer) delete(bucket, k []byte) error {
	b := w.tx.Bucket(bucket)
	old := b.Get(k)
	if old == nil {
		return nil
	}
	w.d.remove(bucket, k, old)
	return b.Delete(k)
}

// finish stores the digest; call it last.
func (w *writer) finish() error {
	return w.tx.Bucket(bucketMeta).Put(keyDigest, w.d.bytes())
}
