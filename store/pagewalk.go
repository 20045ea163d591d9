package store

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"os"

	bolt "go.etcd.io/bbolt"
)

// bbolt trusts the pages of its file. A damaged page header or element
// can send it into a loop it never leaves (a branch that points at its own
// ancestor, an overflow count of four billion pages in Tx.Check) or far
// outside the file. walkPages therefore reads the tree of pages itself,
// from the file and with every step bounded, before bbolt walks it: each
// page is reached once, says it is the page it was reached as, lies below
// the high-water mark with its overflow, and has elements within itself.
// What passes is a finite tree that bbolt's cursors and its own check can
// read without harm. The layout read here is bbolt's on-disk format
// (version 2), which bbolt keeps stable across releases.

// Page layout of bbolt's file format.
const (
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	pageElementSize  = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	// maxTreeDepth bounds the walk; bbolt's trees are a few levels deep.
	maxTreeDepth = 64
)

var ne = binary.NativeEndian

// boltMeta is the part of a meta page the walk needs.
type boltMeta struct {
	root, freelist, hwm, txid uint64
}

// pageWalk reads the pages of one bbolt file.
type pageWalk struct {
	f        *os.File
	path     string
	pageSize int
	hwm      uint64
	seen     []bool // by page ID, below hwm
}

// walkPages checks the tree of pages that tx reads (see above).
func walkPages(tx *bolt.Tx, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := &pageWalk{f: f, path: path, pageSize: tx.DB().Info().PageSize}
	m, err := w.meta(uint64(tx.ID()))
	if err != nil {
		return err
	}
	// bbolt opened the file, so it is at least hwm pages long.
	w.hwm, w.seen = m.hwm, make([]bool, m.hwm)
	fl, err := w.page(m.freelist, true)
	if err != nil {
		return err
	}
	if err := w.tree(m.root, 0, true, nil); err != nil {
		return err
	}
	return w.freelist(m.freelist, fl)
}

// freelist checks that every page below the high-water mark is either
// reached from the root or listed free, and never both: bbolt would free
// a page twice, and panic, when it rewrites a page whose overflow runs
// into a free one.
func (w *pageWalk) freelist(id uint64, buf []byte) error {
	n, ids := uint64(ne.Uint16(buf[10:])), buf[pageHeaderSize:]
	if n == 0xFFFF { // the count did not fit: it is the first element
		n, ids = ne.Uint64(ids), ids[8:]
	}
	if n > uint64(len(ids)/8) {
		return damaged(w.path, "freelist page %d claims %d pages, more than fit", id, n)
	}
	for i := uint64(0); i < n; i++ {
		p := ne.Uint64(ids[i*8:])
		switch {
		case p < 2 || p >= w.hwm:
			return damaged(w.path, "the freelist holds page %d, outside pages 2 to %d", p, w.hwm-1)
		case w.seen[p]:
			return damaged(w.path, "page %d is both in use and free", p)
		}
		w.seen[p] = true
	}
	for p := uint64(2); p < w.hwm; p++ {
		if !w.seen[p] {
			return damaged(w.path, "page %d is neither in use nor free", p)
		}
	}
	return nil
}

// meta finds the meta page of transaction txid, the one bbolt chose.
func (w *pageWalk) meta(txid uint64) (boltMeta, error) {
	buf := make([]byte, 64)
	for id := int64(0); id < 2; id++ {
		if _, err := w.f.ReadAt(buf, id*int64(w.pageSize)+pageHeaderSize); err != nil {
			return boltMeta{}, damaged(w.path, "meta page %d unreadable: %v", id, err)
		}
		h := fnv.New64a()
		h.Write(buf[:56])
		m := boltMeta{root: ne.Uint64(buf[16:]), freelist: ne.Uint64(buf[32:]), hwm: ne.Uint64(buf[40:]), txid: ne.Uint64(buf[48:])}
		valid := ne.Uint32(buf) == boltMagic && ne.Uint32(buf[4:]) == boltVersion && ne.Uint64(buf[56:]) == h.Sum64()
		if valid && m.txid == txid {
			return m, nil
		}
	}
	return boltMeta{}, damaged(w.path, "no meta page of transaction %d", txid)
}

// page reads page id, the freelist or else a branch or leaf, and marks it
// and its overflow pages as reached.
func (w *pageWalk) page(id uint64, freelist bool) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, damaged(w.path, "a reference to page %d, outside pages 2 to %d", id, w.hwm-1)
	}
	buf := make([]byte, w.pageSize)
	if _, err := w.f.ReadAt(buf, int64(id)*int64(w.pageSize)); err != nil {
		return nil, damaged(w.path, "page %d unreadable: %v", id, err)
	}
	overflow, flags := uint64(ne.Uint32(buf[12:])), ne.Uint16(buf[8:])
	switch {
	case ne.Uint64(buf) != id:
		return nil, damaged(w.path, "page %d says it is page %d", id, ne.Uint64(buf))
	case freelist && flags != freelistPageFlag:
		return nil, damaged(w.path, "freelist page %d has flags %#x", id, flags)
	case !freelist && flags != branchPageFlag && flags != leafPageFlag:
		return nil, damaged(w.path, "page %d is neither a branch nor a leaf (flags %#x)", id, flags)
	case id+overflow >= w.hwm:
		return nil, damaged(w.path, "page %d overflows by %d pages past the last page %d", id, overflow, w.hwm-1)
	}
	for p := id; p <= id+overflow; p++ {
		if w.seen[p] {
			return nil, damaged(w.path, "page %d is reached twice", p)
		}
		w.seen[p] = true
	}
	if overflow > 0 {
		buf = append(buf, make([]byte, overflow*uint64(w.pageSize))...)
		if _, err := w.f.ReadAt(buf[w.pageSize:], int64(id+1)*int64(w.pageSize)); err != nil {
			return nil, damaged(w.path, "page %d unreadable: %v", id, err)
		}
	}
	if freelist {
		return buf, nil
	}
	if n := int(ne.Uint16(buf[10:])); pageHeaderSize+n*pageElementSize > len(buf) {
		return nil, damaged(w.path, "page %d claims %d elements, more than fit", id, n)
	}
	return buf, nil
}

// tree walks the B+tree rooted at page id. Only the top-level tree holds
// buckets; beacon.db has no buckets within buckets. first is the key that
// the parent's element gives the page (nil for a root): bbolt finds a
// child by it when it rewrites the parent, and a page whose first key
// differs would end up referenced twice, so the two must be equal.
func (w *pageWalk) tree(id uint64, depth int, top bool, first []byte) error {
	if depth > maxTreeDepth {
		return damaged(w.path, "the tree through page %d is deeper than %d levels", id, maxTreeDepth)
	}
	buf, err := w.page(id, false)
	if err != nil {
		return err
	}
	branch := ne.Uint16(buf[8:]) == branchPageFlag
	n := int(ne.Uint16(buf[10:]))
	for i := 0; i < n; i++ {
		if err := w.bounds(id, buf, i, branch); err != nil {
			return err
		}
	}
	if first != nil && (n == 0 || !bytes.Equal(key(buf, 0, branch), first)) {
		return damaged(w.path, "page %d does not start with the key its parent gives it", id)
	}
	if !branch {
		return w.leaf(id, buf, top)
	}
	if n == 0 {
		return damaged(w.path, "branch page %d is empty", id)
	}
	for i := 0; i < n; i++ {
		e := buf[pageHeaderSize+i*pageElementSize:]
		if err := w.tree(ne.Uint64(e[8:]), depth+1, top, key(buf, i, true)); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks the elements of a leaf page (or of an inline bucket's page,
// id 0) and walks the buckets it holds.
func (w *pageWalk) leaf(id uint64, buf []byte, top bool) error {
	n := int(ne.Uint16(buf[10:]))
	for i := 0; i < n; i++ {
		if err := w.bounds(id, buf, i, false); err != nil {
			return err
		}
		e := buf[pageHeaderSize+i*pageElementSize:]
		if ne.Uint32(e)&bucketLeafFlag == 0 {
			if top {
				return damaged(w.path, "page %d holds a value at the top level", id)
			}
			continue
		}
		v := value(buf, i)
		if !top || len(v) < bucketHeaderSize {
			return damaged(w.path, "page %d holds a bucket where none belongs", id)
		}
		if root := ne.Uint64(v); root != 0 {
			if err := w.tree(root, 1, false, nil); err != nil {
				return err
			}
			continue
		}
		inline := v[bucketHeaderSize:]
		if len(inline) < pageHeaderSize || ne.Uint16(inline[8:]) != leafPageFlag ||
			pageHeaderSize+int(ne.Uint16(inline[10:]))*pageElementSize > len(inline) {
			return damaged(w.path, "page %d holds a malformed inline bucket", id)
		}
		if err := w.leaf(0, inline, false); err != nil {
			return err
		}
	}
	return nil
}

// bounds checks that element i of a page keeps its key (and a leaf's
// value) inside the page.
func (w *pageWalk) bounds(id uint64, buf []byte, i int, branch bool) error {
	e := buf[pageHeaderSize+i*pageElementSize:]
	pos, size := uint64(ne.Uint32(e)), uint64(ne.Uint32(e[4:]))
	if !branch {
		pos, size = uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:]))+uint64(ne.Uint32(e[12:]))
	}
	if uint64(pageHeaderSize+i*pageElementSize)+pos+size > uint64(len(buf)) {
		return damaged(w.path, "element %d of page %d reaches past its end", i, id)
	}
	return nil
}

// key returns the key of element i of a page whose bounds were checked.
func key(buf []byte, i int, branch bool) []byte {
	base := pageHeaderSize + i*pageElementSize
	e := buf[base:]
	if branch {
		start := base + int(ne.Uint32(e))
		return buf[start : start+int(ne.Uint32(e[4:]))]
	}
	start := base + int(ne.Uint32(e[4:]))
	return buf[start : start+int(ne.Uint32(e[8:]))]
}

// value returns the value of element i of a leaf page whose bounds were
// checked.
func value(buf []byte, i int) []byte {
	base := pageHeaderSize + i*pageElementSize
	e := buf[base:]
	start := base + int(ne.Uint32(e[4:])) + int(ne.Uint32(e[8:]))
	return buf[start : start+int(ne.Uint32(e[12:]))]
}
