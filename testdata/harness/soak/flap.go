package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// backend is a loopback HTTP server whose health endpoint answers 200 or
// 500 as told.
type backend struct {
	port    uint16
	healthy atomic.Bool
	srv     *http.Server
}

// backends flap: each turns healthy or unhealthy every flapEvery, in
// turn, so that beacon's HTTP checks keep changing the flap answers.
type backends struct {
	list  []*backend
	every time.Duration
	flips atomic.Int64
}

// startBackends starts n backends on 127.0.0.1, every other one healthy.
func startBackends(n int, every time.Duration) (*backends, error) {
	bs := &backends{every: every}
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			bs.close()
			return nil, err
		}
		b := &backend{port: uint16(ln.Addr().(*net.TCPAddr).Port)}
		b.healthy.Store(i%2 == 0)
		b.srv = &http.Server{Handler: http.HandlerFunc(b.health), ReadHeaderTimeout: 5 * time.Second}
		go b.srv.Serve(ln)
		bs.list = append(bs.list, b)
	}
	return bs, nil
}

func (b *backend) health(w http.ResponseWriter, _ *http.Request) {
	if b.healthy.Load() {
		fmt.Fprintln(w, "ok")
		return
	}
	http.Error(w, "flapping: unhealthy now", http.StatusInternalServerError)
}

// registrations are the flap instances, each with an HTTP check every
// second.
func (bs *backends) registrations() []registration {
	regs := make([]registration, len(bs.list))
	for i, b := range bs.list {
		regs[i] = registration{
			ID: fmt.Sprintf("%s-%d", flapService, i), Name: flapService, Address: "127.0.0.1", Port: int(b.port),
			Check: &checkDef{HTTP: fmt.Sprintf("http://127.0.0.1:%d/health", b.port), Interval: "1s", Timeout: "1s"},
		}
	}
	return regs
}

// ports are the backends' ports.
func (bs *backends) ports() map[uint16]bool {
	m := map[uint16]bool{}
	for _, b := range bs.list {
		m[b.port] = true
	}
	return m
}

// run flips one backend every every/n until ctx ends, so each flips once
// per every.
func (bs *backends) run(ctx context.Context, duration time.Duration) {
	if len(bs.list) == 0 {
		return
	}
	step := bs.every / time.Duration(len(bs.list))
	tick := time.NewTicker(step)
	defer tick.Stop()
	limit := int(duration/step) + 1
	for i := 0; i < limit; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b := bs.list[i%len(bs.list)]
		b.healthy.Store(!b.healthy.Load())
		bs.flips.Add(1)
	}
}

func (bs *backends) close() {
	for _, b := range bs.list {
		b.srv.Close()
	}
}
