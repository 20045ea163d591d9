package dnsserver

import (
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-dns/beacon/store"
)

// handler serves DNS requests: from the answer cache when it can, else
// through the pure core (answer, finish) and the recursors.
type handler struct {
	z     *zone
	src   Source
	cache *answerCache
	fwd   *forwarder // nil without recursors
	met   *metrics
	log   *slog.Logger
	now   func() time.Time
	bufs  sync.Pool // *[]byte for packing and patching replies
}

func newHandler(cfg *Config, src Source, met *metrics) *handler {
	return &handler{
		z:     newZone(cfg),
		src:   src,
		cache: newAnswerCache(cfg.CacheSize),
		fwd:   newForwarder(cfg),
		met:   met,
		log:   cfg.Logger,
		now:   cfg.Now,
		bufs:  sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }},
	}
}

// ServeDNS answers req. A panic below it is recovered, answered with
// SERVFAIL and counted, and the server keeps serving.
func (h *handler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	start := sampleStart()
	defer h.recoverPanic(w, req, start)
	h.serve(w, req, start)
}

func (h *handler) serve(w dns.ResponseWriter, req *dns.Msg, start time.Time) {
	tcp := isTCP(w)
	e := parseEDNS(req)
	ck := h.cacheKey(req, e, tcp)
	snap := h.src.Snapshot()
	if ck.ok {
		ent := h.cache.get(ck.hash)
		if ent != nil && ent.matches(req.Question[0].Name, ck.key) && ent.dep.valid(snap, h.now) {
			h.met.hits.Inc()
			h.send(w, req, ent, e.limit(tcp))
			h.met.done(ent.typ, ent.rcode, start)
			return
		}
		h.met.misses.Inc()
	}
	m, mt := h.build(req, snap, e, tcp)
	if mt.forward && h.fwd != nil && h.fwd.allows(w.RemoteAddr()) {
		if aw, ok := w.(asyncWriter); ok {
			aw.async(func(w dns.ResponseWriter) { h.forward(w, req, e, tcp, start) })
			return
		}
		h.forward(w, req, e, tcp, start)
		return
	}
	h.write(w, req, m, &mt, ck, e.limit(tcp), start)
}

// write packs m, caches it when it may be reused, and sends it. A reply
// whose answer is large is a header and question, filled in here with
// the records that fit limit.
func (h *handler) write(w dns.ResponseWriter, req, m *dns.Msg, mt *meta, ck cacheKey, limit int, start time.Time) {
	bp := h.bufs.Get().(*[]byte)
	defer h.bufs.Put(bp)
	wire, err := m.PackBuffer((*bp)[:cap(*bp)])
	if err != nil {
		h.log.Error("cannot pack DNS reply", "question", req.Question, "err", err)
		m, mt = servfail(req, isTCP(w)), &meta{} // not for the cache
		wire, _ = m.PackBuffer((*bp)[:cap(*bp)])
	}
	typ, rc := typeOf(req), rcodeIndex(m.Rcode)
	switch {
	case mt.large != nil:
		ent, ok := newLargeEntry(ck.key, req.Question[0].Name, wire, mt)
		if !ok {
			h.log.Error("cannot pack DNS reply", "question", req.Question)
			m = servfail(req, isTCP(w))
			wire, _ = m.PackBuffer(wire)
			rc = rcodeIndex(m.Rcode)
			break
		}
		ent.typ, ent.rcode = typ, rc
		if ck.ok {
			h.cache.add(ck.hash, ent)
		}
		// The question is the request's own: no case to patch.
		wire = ent.large.write(wire[:len(wire)-ent.optLen], ent.wire[len(ent.wire)-ent.optLen:], limit)
	case ck.ok && mt.cacheable && !m.Truncated && len(wire) <= classSize[ck.class]:
		if ent, ok := newEntry(ck.key, req.Question[0].Name, wire, mt); ok {
			ent.typ, ent.rcode = typ, rc
			h.cache.add(ck.hash, ent)
			// Served like any hit, so the first reply is shuffled
			// the same way as the rest.
			wire = ent.writeTo(wire, req, limit)
		}
	}
	if cap(wire) <= 64<<10 {
		*bp = wire[:0]
	}
	if _, err := w.Write(wire); err != nil {
		h.log.Debug("cannot write DNS reply", "err", err)
	}
	h.met.done(typ, rc, start)
}

// build makes the reply when the cache has none, with the pure core and
// finish; for names outside the zone meta.forward says a recursor may
// answer instead. A signed request is refused before anything else (RFC
// 8945 section 5.2), with the TSIG record last, after the OPT record.
func (h *handler) build(req *dns.Msg, snap *store.Snapshot, e edns, tcp bool) (*dns.Msg, meta) {
	var m *dns.Msg
	var mt meta
	sig, err := signature(req)
	switch {
	case err != nil:
		m = refusal(req, rcodeOf(err))
	case sig != nil:
		m = refusal(req, rcodeOf(errBadKey))
	case e.multiple:
		m = refusal(req, rcodeOf(errFormat))
	case e.present && e.version != 0:
		m = refusal(req, rcodeOf(errBadVersion))
	default:
		m, mt = h.z.answer(req, snap, h.now(), e.limit(tcp), e.optLen())
	}
	finish(m, e, tcp)
	if sig != nil {
		m.Extra = append(m.Extra, badKey(sig))
	}
	return m, mt
}

// forward answers from the recursors, finished like beacon's own
// replies.
func (h *handler) forward(w dns.ResponseWriter, req *dns.Msg, e edns, tcp bool, start time.Time) {
	defer h.recoverPanic(w, req, start)
	m, err := h.fwd.forward(req)
	if err != nil {
		m = refusal(req, rcodeOf(err))
	}
	h.met.forwards[rcodeIndex(m.Rcode)].Inc()
	m.Extra = dropOPT(m.Extra)
	finish(m, e, tcp)
	h.write(w, req, m, &meta{}, cacheKey{}, e.limit(tcp), start)
}

// cacheKey is where a request's answer lives in the cache; ok is false
// for requests whose answers are never cached.
type cacheKey struct {
	key
	class uint8
	ok    bool
}

// cacheKey returns the cache key for req. Only a plain, unsigned QUERY of
// class IN with EDNS version 0 at most, whose name has no escapes (so a
// hit can copy its letters), may be answered from the cache.
func (h *handler) cacheKey(req *dns.Msg, e edns, tcp bool) cacheKey {
	if h.cache == nil || req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 || e.multiple || e.version != 0 {
		return cacheKey{}
	}
	if sig, err := signature(req); sig != nil || err != nil {
		return cacheKey{}
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET || strings.IndexByte(q.Name, '\\') >= 0 {
		return cacheKey{}
	}
	class := sizeClass(e.limit(tcp), tcp)
	return cacheKey{key: makeKey(q.Name, q.Qtype, e, class), class: class, ok: true}
}

// send writes a cached reply to a client taking up to limit bytes.
func (h *handler) send(w dns.ResponseWriter, req *dns.Msg, ent *entry, limit int) {
	bp := h.bufs.Get().(*[]byte)
	b := ent.writeTo(*bp, req, limit)
	if _, err := w.Write(b); err != nil {
		h.log.Debug("cannot write DNS reply", "err", err)
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
	}
	h.bufs.Put(bp)
}

// recoverPanic turns a panic while answering into SERVFAIL (CoreDNS
// core/dnsserver does the same) and logs its stack.
func (h *handler) recoverPanic(w dns.ResponseWriter, req *dns.Msg, start time.Time) {
	p := recover()
	if p == nil {
		return
	}
	h.met.panics.Inc()
	h.log.Error("panic while answering DNS request; answered SERVFAIL", "panic", p, "question", req.Question, "stack", string(debug.Stack()))
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("panic while answering SERVFAIL", "panic", p)
		}
	}()
	if err := w.WriteMsg(servfail(req, isTCP(w))); err != nil {
		h.log.Debug("cannot write DNS reply", "err", err)
	}
	h.met.done(typeOf(req), rcodeIndex(dns.RcodeServerFailure), start)
}

// invalid counts a request with a header but a body that does not parse,
// which gets FORMERR.
func (h *handler) invalid(m []byte, _ error) {
	if len(m) >= 12 {
		h.met.requests[typeOther][rcodeIndex(dns.RcodeFormatError)].Inc()
	}
}

// accept decides from the header alone what becomes of a request. It
// drops responses, as dns.DefaultMsgAcceptFunc does, and rejects with a
// bare FORMERR (counted here: those requests never reach ServeDNS) what
// no query holds: more than one answer or authority record (a NOTIFY or
// IXFR has one) or more than two additional ones (OPT and TSIG). Unlike
// the default it lets through other opcodes and question counts, which
// the handler refuses with NOTIMP or FORMERR in a reply of its own: one
// that echoes the question and the OPT record (RFC 6891 section 6.1.1)
// and clears AD and Z, where miekg/dns's bare reply copies the request's
// flags.
func (h *handler) accept(dh dns.Header) dns.MsgAcceptAction {
	const qr = 1 << 15
	switch {
	case dh.Bits&qr != 0:
		return dns.MsgIgnore
	case dh.Ancount > 1, dh.Nscount > 1, dh.Arcount > 2:
		h.met.requests[typeOther][rcodeIndex(dns.RcodeFormatError)].Inc()
		return dns.MsgReject
	}
	return dns.MsgAccept
}

func typeOf(req *dns.Msg) uint8 {
	if len(req.Question) != 1 {
		return typeOther
	}
	return typeIndex(req.Question[0].Qtype)
}

func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.LocalAddr().(*net.TCPAddr)
	return ok
}

var _ dns.Handler = (*handler)(nil)
