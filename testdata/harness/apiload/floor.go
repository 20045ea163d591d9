package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// floor is the least any server can do for Consul blocking queries here:
// net/http, answers encoded once per change and handed to every woken
// watcher as the same bytes, no persistence. Measured with the same load
// generator, it shows how much of the watchers' latency is beacon's and
// how much is net/http's, loopback TCP's and the load generator's on this
// machine.
type floor struct {
	mu      sync.Mutex
	index   uint64
	changed chan struct{}
	ids     []string
	names   map[string][]string
	health  []byte // [{"Service":{"ID":...}}, ...]
	catalog []byte // {"name":["v1"], ...}
}

func newFloor() *floor {
	return &floor{index: 1, changed: make(chan struct{}), names: map[string][]string{},
		health: []byte("[]"), catalog: []byte("{}")}
}

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/healthz":
		return
	case r.Method == http.MethodPut:
		f.register(w, r)
		return
	}
	f.mu.Lock()
	index, changed := f.index, f.changed
	f.mu.Unlock()
	if v := r.URL.Query().Get("index"); v != "" {
		if n, _ := strconv.ParseUint(v, 10, 64); n >= index {
			select {
			case <-changed:
			case <-r.Context().Done():
				return
			}
		}
	}
	f.mu.Lock()
	index, body := f.index, f.health
	if strings.HasPrefix(r.URL.Path, "/v1/catalog/") {
		body = f.catalog
	}
	f.mu.Unlock()
	h := w.Header()
	h.Set("X-Consul-Index", strconv.FormatUint(index, 10))
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// register takes a registration, encodes both answers once, and wakes
// every watcher.
func (f *floor) register(w http.ResponseWriter, r *http.Request) {
	var body struct{ ID, Name string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, body.ID)
	f.names[body.Name] = []string{"v1"}
	var entries []map[string]map[string]string
	for _, id := range f.ids {
		entries = append(entries, map[string]map[string]string{"Service": {"ID": id}})
	}
	f.health, _ = json.Marshal(entries)
	f.catalog, _ = json.Marshal(f.names)
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

// serveFloor runs the floor server on addr until SIGTERM or SIGINT. It
// reports its address in beacon's log format, so that testkit.Start finds
// it the same way.
func serveFloor(addr string, stderr io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "level=INFO msg=\"http listening\" addr=%s\n", ln.Addr())
	srv := &http.Server{Handler: newFloor()}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

var _ http.Handler = (*floor)(nil)
