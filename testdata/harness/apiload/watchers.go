package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// watchRound is one round of phase 3: many clients blocked on one
// endpoint, then one registration that changes what they watch.
type watchRound struct {
	Endpoint string // path watched, with NAME for the service
	Catalog  string // what was registered at the time
	Watchers int    // per round
	Rounds   int
	Lat      summary       // each watcher's answer, from the registration's 200
	FromSend summary       // each watcher's answer, from sending the registration
	Early    int           // watchers answered before that 200 arrived (counted as 0 in Lat)
	Write    time.Duration // the registration's own round trip (median over rounds)
	// Use is the CPU used from sending the registration until every
	// watcher had its answer, summed over rounds.
	Use cpuUse

	lat, send []time.Duration // the samples behind Lat and FromSend
}

// pool merges rounds of one measurement: percentiles over every
// watcher of every round, so that one round's luck does not decide them.
func pool(rounds []watchRound) watchRound {
	out := rounds[0]
	out.Rounds, out.Early, out.Use = len(rounds), 0, cpuUse{Known: true}
	var lat, send []time.Duration
	var writes []float64
	for _, r := range rounds {
		lat, send = append(lat, r.lat...), append(send, r.send...)
		writes = append(writes, float64(r.Write))
		out.Early += r.Early
		out.Use.Wall += r.Use.Wall
		out.Use.Server += r.Use.Server
		out.Use.Self += r.Use.Self
		out.Use.Others += r.Use.Others
		out.Use.Known = out.Use.Known && r.Use.Known
	}
	out.Lat, out.FromSend, out.lat, out.send = summarize(lat), summarize(send), lat, send
	out.Write = time.Duration(median(writes))
	return out
}

// watchKind is what the watchers block on.
type watchKind int

const (
	watchHealth  watchKind = iota // /v1/health/service/NAME; trigger: a new instance of NAME
	watchCatalog                  // /v1/catalog/services; trigger: a new service
)

// watchers runs the health and the catalog round on s. catalog describes
// what s holds, for the report.
func (b *bench) watchers(ctx context.Context, s *server, tag, catalog string) ([]watchRound, error) {
	c := newClient(s.Addr, b.cfg.watchers+8)
	defer c.close()
	var out []watchRound
	for _, kind := range []watchKind{watchHealth, watchCatalog} {
		what := fmt.Sprintf("phase 3 (%s), %s", catalog, [...]string{"health", "catalog"}[kind])
		r, err := measureQuietly(ctx, b, s.PID, what, func(attempt int) (watchRound, cpuUse, error) {
			var rounds []watchRound
			for i := range b.cfg.watchRounds {
				r, err := b.watchRound(ctx, c, kind, fmt.Sprintf("%s%sa%dr%d-", b.run, tag, attempt, i), s.PID)
				if err != nil {
					return r, r.Use, err
				}
				rounds = append(rounds, r)
			}
			r := pool(rounds)
			return r, r.Use, nil
		})
		if err != nil {
			return out, fmt.Errorf("phase 3 (%s): %w", catalog, err)
		}
		r.Catalog = catalog
		b.logf("phase 3: %s, %s: %d rounds of %d watchers: from the 200 p50 %v p99 %v max %v (%d before it; registration took %v); from sending it p50 %v p99 %v; CPU beacon %v apiload %v",
			catalog, r.Endpoint, r.Rounds, r.Watchers, r.Lat.P50, r.Lat.P99, r.Lat.Max, r.Early, r.Write, r.FromSend.P50, r.FromSend.P99, r.Use.Server, r.Use.Self)
		out = append(out, r)
	}
	return out, nil
}

// watchRound blocks b.cfg.watchers clients on one endpoint at the current
// index, waits until every request has been written and then settle
// longer (so that beacon has parked them), registers one instance, and
// measures when each watcher's answer arrived.
func (b *bench) watchRound(ctx context.Context, c *client, kind watchKind, prefix string, pid int) (watchRound, error) {
	cfg := b.cfg
	name := prefix + "watched"
	path, endpoint := "/v1/health/service/"+name, "/v1/health/service/NAME"
	// The trigger's ID is its prefix plus "0" (see registration).
	trigger, want := prefix+"th", prefix+"th0"
	if kind == watchCatalog {
		path, endpoint = "/v1/catalog/services", "/v1/catalog/services"
		// The catalog index moves only when services or tags change.
		trigger, name, want = prefix+"tc", prefix+"new", prefix+"new"
	} else if err := c.register(ctx, registration(nil, prefix, 0, name)); err != nil {
		return watchRound{}, err
	}
	_, index, err := c.get(ctx, path)
	if err != nil {
		return watchRound{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.settle+cfg.watchTimeout+requestTimeout)
	defer cancel()
	url := fmt.Sprintf("%s%s?index=%d&wait=5m", c.base, path, index)
	var wrote, answered atomic.Int64
	got := make([]time.Time, cfg.watchers)
	errs := make([]error, cfg.watchers)
	var wg sync.WaitGroup
	for i := range cfg.watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The answer's time is its first byte's arrival, taken in the
			// transport's read loop: one goroutine hop earlier than the
			// caller seeing it, so less of the load generator's own
			// scheduling delay is counted against beacon.
			var first atomic.Int64
			trace := &httptrace.ClientTrace{
				WroteRequest:         func(httptrace.WroteRequestInfo) { wrote.Add(1) },
				GotFirstResponseByte: func() { first.Store(time.Now().UnixNano()) },
			}
			errs[i] = watchOnce(httptrace.WithClientTrace(ctx, trace), c, url, index, want)
			got[i] = time.Unix(0, first.Load())
			answered.Add(1)
		}()
	}
	if err := waitFor(ctx, cfg.watchTimeout, func() bool { return wrote.Load() == int64(cfg.watchers) }); err != nil {
		cancel()
		wg.Wait()
		return watchRound{}, fmt.Errorf("%d of %d watchers sent: %w (%v)", wrote.Load(), cfg.watchers, err, firstError(errs))
	}
	time.Sleep(cfg.settle)
	if n := answered.Load(); n > 0 {
		cancel()
		wg.Wait()
		return watchRound{}, fmt.Errorf("%d watchers were answered before any change: %v", n, firstError(errs))
	}
	meter := startCPUMeter(pid)
	t0 := time.Now()
	if err := c.register(ctx, registration(nil, trigger, 0, name)); err != nil {
		cancel()
		wg.Wait()
		return watchRound{}, err
	}
	t200 := time.Now()
	wg.Wait()
	use := meter.stop(time.Since(t0))
	if err := firstError(errs); err != nil {
		return watchRound{}, fmt.Errorf("%d of %d watchers failed; first: %w", countErrors(errs), cfg.watchers, err)
	}
	r := watchRound{Endpoint: endpoint, Watchers: cfg.watchers, Write: t200.Sub(t0),
		Use: use}
	lat := make([]time.Duration, len(got))
	send := make([]time.Duration, len(got))
	for i, t := range got {
		send[i] = t.Sub(t0)
		if lat[i] = t.Sub(t200); lat[i] < 0 {
			lat[i] = 0
			r.Early++
		}
	}
	r.Lat, r.FromSend, r.lat, r.send, r.Rounds = summarize(lat), summarize(send), lat, send, 1
	return r, nil
}

// watchOnce sends one blocking query and reads its answer in full. The
// answer must come with an index past index and show the change (want in
// the body).
func watchOnce(ctx context.Context, c *client, url string, index uint64, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("blocking GET: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	idx, err := consulIndex(resp)
	if err != nil {
		return err
	}
	if idx <= index {
		return fmt.Errorf("blocking GET answered with X-Consul-Index %d, not past %d", idx, index)
	}
	if !bytes.Contains(body, []byte(`"`+want+`"`)) {
		return fmt.Errorf("blocking GET answered at index %d without %q", idx, want)
	}
	return nil
}

// waitFor polls cond every 5 ms for up to limit.
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func countErrors(errs []error) int {
	n := 0
	for _, err := range errs {
		if err != nil {
			n++
		}
	}
	return n
}
