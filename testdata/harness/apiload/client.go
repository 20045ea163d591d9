package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// requestTimeout bounds every request that is not a blocking query.
const requestTimeout = 30 * time.Second

// client talks to one beacon over one keep-alive Transport.
type client struct {
	base string
	tr   *http.Transport
	hc   *http.Client
}

// newClient returns a client that keeps up to conns connections open, so
// that conns concurrent callers each reuse their own connection.
func newClient(addr string, conns int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: "http://" + addr, tr: tr, hc: &http.Client{Transport: tr}}
}

func (c *client) close() { c.tr.CloseIdleConnections() }

// register PUTs one registration body and returns once beacon answered
// 200, which it does only after the write is durable.
func (c *client) register(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+"/v1/agent/service/register", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	return drain(resp, "register")
}

// drain reads the body to the end (so the connection is reused) and turns
// a status other than 200 into an error quoting beacon's message.
func drain(resp *http.Response, what string) error {
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", what, resp.Status, strings.TrimSpace(string(msg)))
	}
	return err
}

// get fetches path without blocking and returns the body and
// X-Consul-Index.
func (c *client) get(ctx context.Context, path string) ([]byte, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	idx, err := consulIndex(resp)
	return body, idx, err
}

// consulIndex parses X-Consul-Index, which every catalog and health
// answer carries.
func consulIndex(resp *http.Response) (uint64, error) {
	h := resp.Header.Get("X-Consul-Index")
	idx, err := strconv.ParseUint(h, 10, 64)
	if err != nil || idx == 0 {
		return 0, fmt.Errorf("%s: X-Consul-Index %q is not a positive integer", resp.Request.URL.Path, h)
	}
	return idx, nil
}

// metric reads one unlabelled sample from /metrics.
func (c *client) metric(ctx context.Context, name string) (float64, error) {
	body, err := c.metrics(ctx)
	if err != nil {
		return 0, err
	}
	return stats.Metric(bytes.NewReader(body), name)
}

func (c *client) metrics(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return body, err
}

func (c *client) healthz(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	return drain(resp, "GET /healthz")
}

// registration renders the body of instance i of a run: ID
// "<prefix><i>" in service, a unique 10.x.y.z address, one tag and one
// meta key, no checks. It appends to buf so that the load loop allocates
// nothing per request for the body.
func registration(buf []byte, prefix string, i int, service string) []byte {
	buf = append(buf, `{"ID":"`...)
	buf = append(buf, prefix...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, `","Name":"`...)
	buf = append(buf, service...)
	buf = append(buf, `","Address":"10.`...)
	buf = strconv.AppendInt(buf, int64(i>>16&255), 10)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, int64(i>>8&255), 10)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, int64(i&255), 10)
	buf = append(buf, `","Port":8080,"Tags":["v1"],"Meta":{"version":"1"}}`...)
	return buf
}

// Metrics read from beacon's /metrics.
const (
	// commitCount counts bolt commits; each is one durable sync of the
	// database (see README: a bbolt commit issues fdatasync twice, for
	// the pages and then the meta page).
	commitCount = "beacon_store_commit_duration_seconds_count"
	heapInuse   = "go_memstats_heap_inuse_bytes"
	rssMetric   = "process_resident_memory_bytes"
)
