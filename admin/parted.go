package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/beacon-dns/beacon/store"
)

// partedAnswer is one answer over the whole registry (agent/services,
// agent/checks) encoded once per change and shared by every reader. It is
// kept as one encoded part per service, in service order, so that a
// change re-encodes only the service it touched, and readers stream the
// parts as they are: at 200,000 instances eight concurrent readers cost
// one encoding rather than eight, and none builds the answer in memory
// again to write it.
type partedAnswer struct {
	// encode appends a service's entries, comma-separated, to buf.
	encode func(rd *render, svc *store.Service, buf *bytes.Buffer)

	mu  sync.Mutex
	cur *partedBody // the answer for the newest snapshot asked for

	// reads counts answers asked for, builds the answers built and
	// encoded the service parts encoded; tests use them to show that
	// readers share.
	reads, builds, encoded counter
	// building, when set, runs at the start of each build; tests use it
	// to hold a build until every reader has arrived.
	building func()
}

// partedBody is the answer at one snapshot index; once makes concurrent
// readers share a single build.
type partedBody struct {
	index uint64
	once  sync.Once
	// done is set when parts and byName are complete; a later build
	// reuses byName only then, so it never reads one being written.
	done   atomic.Bool
	parts  [][]byte
	byName map[string]servicePart
	size   int
}

// servicePart is one service's encoded entries at its index.
type servicePart struct {
	index uint64
	body  []byte
}

// get returns the answer for snap, building it at most once per snapshot
// index from the parts of the previous answer that are still current.
func (p *partedAnswer) get(rd *render, snap *store.Snapshot) *partedBody {
	p.mu.Lock()
	prev, b := p.cur, p.cur
	if b == nil || b.index != snap.Index() {
		b = &partedBody{index: snap.Index()}
		// A reader late with an older snapshot gets an answer of its
		// own and leaves the newer one in place.
		if prev == nil || b.index > prev.index {
			p.cur = b
		}
	}
	p.mu.Unlock()
	p.reads.add(1)
	b.once.Do(func() { b.build(p, rd, snap, prev) })
	return b
}

func (b *partedBody) build(p *partedAnswer, rd *render, snap *store.Snapshot, prev *partedBody) {
	p.builds.add(1)
	if p.building != nil {
		p.building()
	}
	var old map[string]servicePart
	if prev != nil && prev != b && prev.done.Load() {
		old = prev.byName
	}
	svcs := snap.Services()
	b.byName = make(map[string]servicePart, len(svcs))
	var buf bytes.Buffer
	for _, svc := range svcs {
		part, ok := old[svc.Name]
		if !ok || part.index != svc.Index {
			buf.Reset()
			p.encode(rd, svc, &buf)
			p.encoded.add(1)
			part = servicePart{index: svc.Index, body: bytes.Clone(buf.Bytes())}
		}
		b.byName[svc.Name] = part
		if len(part.body) > 0 {
			b.parts = append(b.parts, part.body)
			b.size += len(part.body)
		}
	}
	b.done.Store(true)
}

// frame is what surrounds the parts of an answer: head and tail (such
// as "{" and "}\n"), and lead, an entry that comes before the parts.
type frame struct {
	head string
	lead []byte
	tail string
}

// Frames of a JSON object and a JSON array, with nothing before the parts.
var (
	objectFrame = frame{head: "{", tail: "}\n"}
	arrayFrame  = frame{head: "[", tail: "]\n"}
)

// write answers 200 with the parts in f, streamed as they are.
func (b *partedBody) write(w http.ResponseWriter, f frame) error {
	entries := len(b.parts)
	if len(f.lead) > 0 {
		entries++
	}
	n := len(f.head) + len(f.lead) + b.size + len(f.tail) + max(entries-1, 0)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	sep := len(f.lead) > 0
	if _, err := io.WriteString(w, f.head); err != nil {
		return nil
	}
	if _, err := w.Write(f.lead); err != nil {
		return nil
	}
	for _, part := range b.parts {
		if sep {
			if _, err := w.Write([]byte{','}); err != nil {
				return nil
			}
		}
		sep = true
		if _, err := w.Write(part); err != nil {
			// The client has gone; there is nobody to answer.
			return nil
		}
	}
	_, _ = io.WriteString(w, f.tail)
	return nil
}

// appendMember appends "key":value to buf as a JSON object member, after
// a comma unless it is the first one there.
func appendMember(buf *bytes.Buffer, key string, v any) {
	if buf.Len() > 0 {
		buf.WriteByte(',')
	}
	k, _ := json.Marshal(key)
	buf.Write(k)
	buf.WriteByte(':')
	val, _ := json.Marshal(v)
	buf.Write(val)
}

// appendElement appends v to buf as a JSON array element.
func appendElement(buf *bytes.Buffer, v any) {
	if buf.Len() > 0 {
		buf.WriteByte(',')
	}
	val, _ := json.Marshal(v)
	buf.Write(val)
}

// newAgentServices is GET /v1/agent/services unfiltered: every instance
// by ID, in objectFrame.
func newAgentServices() *partedAnswer {
	return &partedAnswer{encode: func(rd *render, svc *store.Service, buf *bytes.Buffer) {
		for _, in := range svc.Instances {
			appendMember(buf, in.ID, rd.agentService(in))
		}
	}}
}

// newNodeServices is the Services of GET /v1/catalog/node/:node: every
// instance by ID, as Consul's NodeService.
func newNodeServices() *partedAnswer {
	return &partedAnswer{encode: func(rd *render, svc *store.Service, buf *bytes.Buffer) {
		for _, in := range svc.Instances {
			appendMember(buf, in.ID, nodeServiceJSON{serviceJSON: rd.service(in)})
		}
	}}
}

// newAgentChecks is GET /v1/agent/checks unfiltered: every check by ID,
// in objectFrame.
func newAgentChecks() *partedAnswer {
	return &partedAnswer{encode: func(rd *render, svc *store.Service, buf *bytes.Buffer) {
		for _, in := range svc.Instances {
			for _, c := range in.Checks {
				appendMember(buf, c.ID, rd.check(c, in))
			}
		}
	}}
}

// newCheckList is every check in state ("" for any), as array elements:
// health/node/:node and health/state/:state.
func newCheckList(state store.Status) *partedAnswer {
	return &partedAnswer{encode: func(rd *render, svc *store.Service, buf *bytes.Buffer) {
		for _, in := range svc.Instances {
			for _, c := range in.Checks {
				if state == "" || c.Status == state {
					appendElement(buf, rd.check(c, in))
				}
			}
		}
	}}
}
