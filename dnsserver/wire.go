package dnsserver

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

// entry is a packed reply that any client asking the same question can be
// sent: a hit copies the bytes and patches the ID, the RD and CD bits and
// the case of the question, with no unpacking or packing.
type entry struct {
	name string // the question name, lower-cased
	code uint32 // key.code
	wire []byte
	dep  dependency
	// typ and rcode index the request counters.
	typ, rcode uint8
	// slots are the boundaries of the answer records (n+1 offsets) when
	// they may be reordered per response; weights weight them for the
	// shuffle; fixups are the compression pointers after the answer
	// section that point into it, to be moved with their record.
	slots   []uint16
	weights []uint32
	fixups  []fixup
	// large, when set, makes wire a reply's header and question and then
	// its OPT record, optLen bytes; each reply is filled in from large.
	large  *largeAnswer
	optLen int
}

// fixup is a compression pointer at offset at, pointing off bytes into
// answer record slot.
type fixup struct{ at, slot, off uint16 }

// newEntry wraps a packed reply for the cache. It fails when a reply's
// answers should be shuffled but its layout does not allow moving them.
func newEntry(k key, name string, wire []byte, m *meta) (*entry, bool) {
	e := &entry{name: lowerASCII(name), code: k.code, wire: append([]byte(nil), wire...), dep: m.dep}
	if m.shuffle && len(wire) >= 12 && binary.BigEndian.Uint16(wire[6:]) > 1 {
		if !e.layout() {
			return nil, false
		}
		e.weights = m.weights
	}
	return e, true
}

// newLargeEntry wraps the reply to a question whose answer is large:
// header, question and OPT record, to be filled in per reply. It fails
// when wire is not such a reply.
func newLargeEntry(k key, name string, wire []byte, m *meta) (*entry, bool) {
	b := wire
	h := func(o int) int { return int(binary.BigEndian.Uint16(b[o:])) }
	if len(b) < 12 || h(4) != 1 || h(6) != 0 || h(8) != 0 || h(10) > 1 {
		return nil, false
	}
	end, _, ok := walkName(b, 12)
	if !ok || end+4 > len(b) || (h(10) == 1) != (len(b) > end+4) {
		return nil, false
	}
	e := &entry{name: lowerASCII(name), code: k.code, wire: append([]byte(nil), wire...), dep: m.dep, large: m.large}
	e.optLen = len(b) - (end + 4)
	return e, true
}

// matches reports whether e answers the question in req (the hash
// already matched; this rules out collisions).
func (e *entry) matches(name string, k key) bool {
	return e.code == k.code && equalFoldASCII(e.name, name)
}

// layout finds the answer records and the pointers into them. Answer
// records may move only if nothing inside the answer section points into
// it (owners point at the question, SRV targets are never compressed,
// RFC 2782), and every later name that does can be found: owners of any
// record, and no names in later RDATA.
func (e *entry) layout() bool {
	b := e.wire
	h := func(o int) int { return int(binary.BigEndian.Uint16(b[o:])) }
	qd, an, rest := h(4), h(6), h(8)+h(10)
	if qd != 1 {
		return false
	}
	off, _, ok := walkName(b, 12)
	if !ok {
		return false
	}
	start := off + 4
	slots := []uint16{uint16(start)}
	off = start
	for range an {
		end, ptr, ok := walkName(b, off)
		if !ok || ptr >= start || end+10 > len(b) {
			return false
		}
		rd, rdlen := end+10, h(end+8)
		switch uint16(h(end)) {
		case dns.TypeA, dns.TypeAAAA:
		case dns.TypeSRV:
			if _, ptr, ok := walkName(b, rd+6); !ok || ptr >= start {
				return false
			}
		default:
			return false
		}
		off = rd + rdlen
		slots = append(slots, uint16(off))
	}
	// Pointers hold 14 bits: moved records must stay addressable.
	if off > 0x3fff {
		return false
	}
	for range rest {
		end, ptr, ok := walkName(b, off)
		if !ok || end+10 > len(b) {
			return false
		}
		if ptr >= start && ptr < off {
			s := slotOf(slots, ptr)
			e.fixups = append(e.fixups, fixup{at: uint16(end - 2), slot: uint16(s), off: uint16(ptr) - slots[s]})
		}
		switch uint16(h(end)) {
		case dns.TypeA, dns.TypeAAAA, dns.TypeOPT:
		default:
			return false
		}
		off = end + 10 + h(end+8)
	}
	if off != len(b) {
		return false
	}
	e.slots = slots
	return true
}

// walkName steps over the packed name at off. It returns the offset after
// it and the target of its compression pointer, or -1 when it has none.
func walkName(b []byte, off int) (end, ptr int, ok bool) {
	for off < len(b) {
		c := int(b[off])
		switch {
		case c == 0:
			return off + 1, -1, true
		case c&0xc0 == 0xc0:
			if off+1 >= len(b) {
				return 0, 0, false
			}
			return off + 2, (c&0x3f)<<8 | int(b[off+1]), true
		case c&0xc0 != 0:
			return 0, 0, false
		}
		off += 1 + c
	}
	return 0, 0, false
}

func slotOf(slots []uint16, ptr int) int {
	for i := 0; i+1 < len(slots); i++ {
		if ptr < int(slots[i+1]) {
			return i
		}
	}
	return len(slots) - 2
}

// writeTo appends to dst[:0] the reply to req, from a client that takes
// up to limit bytes: e's bytes with req's ID, RD and CD bits and question
// case, and the answers in a fresh order.
func (e *entry) writeTo(dst []byte, req *dns.Msg, limit int) []byte {
	var b []byte
	switch {
	case e.large != nil:
		if cap(dst) < limit {
			// Grown once to the limit, the pooled buffer is kept.
			dst = make([]byte, 0, limit)
		}
		q := len(e.wire) - e.optLen
		b = e.large.write(append(dst[:0], e.wire[:q]...), e.wire[q:], limit)
	case len(e.slots) > 2:
		b = e.reordered(dst)
	default:
		b = append(dst[:0], e.wire...)
	}
	binary.BigEndian.PutUint16(b, req.Id)
	b[2] &^= 0x01
	if req.RecursionDesired {
		b[2] |= 0x01
	}
	b[3] &^= 0x10
	if req.CheckingDisabled {
		b[3] |= 0x10
	}
	patchName(b[12:], req.Question[0].Name)
	return b
}

// patchName writes name's letters over the packed name at the start of w,
// which spells the same name in another case. Only names without escapes
// are cached, so the presentation and wire forms have the same letters.
func patchName(w []byte, name string) {
	i, j := 0, 0
	for j < len(w) && w[j] != 0 {
		n := int(w[j])
		j++
		if j+n > len(w) || i+n > len(name) {
			return
		}
		copy(w[j:j+n], name[i:i+n])
		j += n
		i += n + 1
	}
}

// reordered appends to dst[:0] e's bytes with the answer records in a
// random order, weighted when e has weights, and the compression
// pointers into them moved along.
func (e *entry) reordered(dst []byte) []byte {
	n := len(e.slots) - 1
	var permBuf [stackShuffle]int
	var startBuf [stackShuffle]uint16
	perm, start := permBuf[:0], startBuf[:0]
	if n > stackShuffle {
		perm, start = make([]int, 0, n), make([]uint16, 0, n)
	}
	perm, start = perm[:n], start[:n]
	permute(perm, e.weights)
	b := append(dst[:0], e.wire[:e.slots[0]]...)
	for _, s := range perm {
		start[s] = uint16(len(b))
		b = append(b, e.wire[e.slots[s]:e.slots[s+1]]...)
	}
	b = append(b, e.wire[e.slots[n]:]...)
	for _, f := range e.fixups {
		binary.BigEndian.PutUint16(b[f.at:], 0xc000|(start[f.slot]+f.off))
	}
	return b
}

// equalFoldASCII compares DNS names case-insensitively (RFC 4343).
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if lx := x | 0x20; lx != y|0x20 || lx < 'a' || lx > 'z' {
			return false
		}
	}
	return true
}
