package dnsserver

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// cacheShards splits the answer cache so that no lock is shared by every
// query: golang-lru takes its exclusive lock even on Get.
const cacheShards = 64

// answerCache holds packed answers by question. A nil *answerCache caches
// nothing.
type answerCache struct {
	shards [cacheShards]*lru.Cache[uint64, *entry]
}

func newAnswerCache(size int) *answerCache {
	if size < 0 {
		return nil
	}
	c := &answerCache{}
	per := max(size/cacheShards, 1)
	for i := range c.shards {
		// New fails only for a size below one.
		c.shards[i], _ = lru.New[uint64, *entry](per)
	}
	return c
}

func (c *answerCache) get(h uint64) *entry {
	if c == nil {
		return nil
	}
	e, _ := c.shards[h>>(64-6)].Get(h)
	return e
}

func (c *answerCache) add(h uint64, e *entry) {
	if c != nil {
		c.shards[h>>(64-6)].Add(h, e)
	}
}

// Response size classes. A packed answer is kept for the largest class
// not above the client's limit, and only if it fits that class, so it
// suits every client of the class without truncating anyone's answer
// more than the client asked.
const (
	class512 uint8 = iota // UDP without EDNS, or a payload size below 1232
	class1232
	class1400
	class4096
	classTCP
)

var classSize = [...]int{512, 1232, 1400, 4096, dns.MaxMsgSize}

func sizeClass(size int, tcp bool) uint8 {
	switch {
	case tcp:
		return classTCP
	case size >= 4096:
		return class4096
	case size >= 1400:
		return class1400
	case size >= 1232:
		return class1232
	}
	return class512
}

// key identifies a question for the cache: the lower-cased name is
// hashed, the rest is packed into code. As in CoreDNS's cache key, the
// DO bit and the size class are part of it, as is whether the query had
// an OPT record, since the reply echoes it.
type key struct {
	hash uint64
	code uint32
}

func makeKey(name string, qtype uint16, e edns, class uint8) key {
	code := uint32(qtype)<<16 | uint32(class)
	if e.present {
		code |= 1 << 8
	}
	if e.do {
		code |= 1 << 9
	}
	// FNV-1a over the lower-cased name, without allocating.
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * 1099511628211
	}
	h = (h ^ uint64(code)) * 1099511628211
	// Finish with murmur3's fmix64 so the top bits, which pick the
	// shard, depend on every byte.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return key{hash: h, code: code}
}

// dependency records what in a snapshot an answer was read from, so a
// cached answer is used only while that is unchanged.
type dependency struct {
	service string
	svc     *store.Service
	catalog uint64
	index   uint64
	expires int64 // UnixNano; 0 means no time bound
	reads   uint8
}

const (
	readsService uint8 = 1 << iota
	readsCatalog
	readsIndex
)

// readService notes that the answer depends on the service name (nil when
// absent). The store gives a service a new *Service whenever any of its
// instances changes, heartbeats included, so comparing pointers catches
// every change to health, addresses, tags and TTL check deadlines.
func (d *dependency) readService(name string, svc *store.Service) {
	d.service, d.svc = name, svc
	d.reads |= readsService
}

// readCatalog notes that the answer depends on which services and tags
// exist, or carries the SOA whose serial follows them.
func (d *dependency) readCatalog(snap *store.Snapshot) {
	d.catalog = snap.CatalogIndex()
	d.reads |= readsCatalog
}

// readIndex notes that the answer depends on the whole registry.
func (d *dependency) readIndex(snap *store.Snapshot) {
	d.index = snap.Index()
	d.reads |= readsIndex
}

// until bounds the answer's life to before t.
func (d *dependency) until(t time.Time) {
	n := t.UnixNano()
	if n <= 0 {
		n = 1
	}
	if d.expires == 0 || n < d.expires {
		d.expires = n
	}
}

// valid reports whether an answer built with d still holds for snap.
// now is called only for answers bounded in time.
func (d *dependency) valid(snap *store.Snapshot, now func() time.Time) bool {
	if d.reads&readsService != 0 && snap.Service(d.service) != d.svc {
		return false
	}
	if d.reads&readsCatalog != 0 && snap.CatalogIndex() != d.catalog {
		return false
	}
	if d.reads&readsIndex != 0 && snap.Index() != d.index {
		return false
	}
	return d.expires == 0 || now().UnixNano() < d.expires
}
