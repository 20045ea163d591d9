package admin

import (
	"net/http"
	"strings"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/beacon-dns/beacon/store"
)

// sharedBodies holds answers of per-service reads encoded once per change
// of the service. When a change wakes a thousand watchers of one service,
// the first encodes the answer and the rest wait for it and write the same
// bytes, instead of each rendering every instance again.
type sharedBodies struct {
	mu sync.Mutex
	c  *lru.Cache[string, *sharedBody]
}

// sharedBody is one answer for one service index; once makes concurrent
// askers share a single encoding.
type sharedBody struct {
	index uint64
	once  sync.Once
	body  []byte
	err   error
}

func newSharedBodies() *sharedBodies {
	c, _ := lru.New[string, *sharedBody](1024)
	return &sharedBodies{c: c}
}

// get returns the answer under key for index, calling build at most once
// per key and index.
func (s *sharedBodies) get(key string, index uint64, build func() ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	e, ok := s.c.Get(key)
	if !ok || e.index != index {
		e = &sharedBody{index: index}
		s.c.Add(key, e)
	}
	s.mu.Unlock()
	e.once.Do(func() { e.body, e.err = build() })
	return e.body, e.err
}

// shareable reports whether an answer depends on nothing but the service
// and the key sharedKey builds: no filter and no pretty printing.
func shareable(r *http.Request, q *query, f node) bool {
	_, pretty := r.URL.Query()["pretty"]
	return f == nil && !pretty
}

// sharedKey names an answer: the route, the service and the parameters
// that shape it.
func sharedKey(route, name string, q *query) string {
	var b strings.Builder
	b.WriteString(route)
	b.WriteByte(0)
	b.WriteString(name)
	if q.passing {
		b.WriteString("\x00passing")
	}
	for _, t := range q.tags {
		b.WriteString("\x00tag=")
		b.WriteString(strings.ToLower(t))
	}
	return b.String()
}

// writeShared writes what render gives, encoded once per change of svc
// when the answer can be shared, and afresh otherwise. render does all
// the per-answer work, so watchers served the shared copy do none.
func (a *API) writeShared(w http.ResponseWriter, r *http.Request, route string, svc *store.Service, q *query, f node, render func() any) error {
	if svc == nil || !shareable(r, q, f) {
		return writeJSON(w, r, render())
	}
	body, err := a.shared.get(sharedKey(route, svc.Name, q), svc.Index, func() ([]byte, error) { return encodeJSON(render(), false) })
	if err != nil {
		return err
	}
	return writeBody(w, body)
}
