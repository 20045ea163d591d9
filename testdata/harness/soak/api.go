package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// apiTimeout bounds every API call; a write waits for an fsync, which a
// loaded disk can stretch, but never for this long.
const apiTimeout = 10 * time.Second

// registration is the Consul service registration body sent to beacon.
type registration struct {
	ID      string            `json:"ID"`
	Name    string            `json:"Name"`
	Address string            `json:"Address,omitempty"`
	Port    int               `json:"Port"`
	Tags    []string          `json:"Tags,omitempty"`
	Meta    map[string]string `json:"Meta,omitempty"`
	Weights *weights          `json:"Weights,omitempty"`
	Check   *checkDef         `json:"Check,omitempty"`
}

// weights are an instance's DNS SRV weights.
type weights struct {
	Passing int `json:"Passing"`
	Warning int `json:"Warning"`
}

// checkDef is a Consul check definition.
type checkDef struct {
	HTTP     string `json:"HTTP,omitempty"`
	TTL      string `json:"TTL,omitempty"`
	Interval string `json:"Interval,omitempty"`
	Timeout  string `json:"Timeout,omitempty"`
	Status   string `json:"Status,omitempty"`
}

// agentService is the part of Consul's AgentService that a registration
// determines.
type agentService struct {
	ID      string            `json:"ID"`
	Service string            `json:"Service"`
	Tags    []string          `json:"Tags"`
	Meta    map[string]string `json:"Meta"`
	Port    int               `json:"Port"`
	Address string            `json:"Address"`
	Weights weights           `json:"Weights"`
}

// equal compares two services, treating nil and empty lists and maps as
// the same (Consul answers [] and {} for none).
func (a *agentService) equal(b *agentService) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.ID != b.ID || a.Service != b.Service || a.Port != b.Port || a.Address != b.Address ||
		a.Weights != b.Weights || len(a.Tags) != len(b.Tags) || len(a.Meta) != len(b.Meta) {
		return false
	}
	for i := range a.Tags {
		if a.Tags[i] != b.Tags[i] {
			return false
		}
	}
	for k, v := range a.Meta {
		if w, ok := b.Meta[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// expected is the service a registration must read back as.
func (r registration) expected() *agentService {
	w := weights{Passing: 1, Warning: 1}
	if r.Weights != nil {
		w = *r.Weights
	}
	return &agentService{ID: r.ID, Service: strings.ToLower(r.Name), Tags: r.Tags, Meta: r.Meta,
		Port: r.Port, Address: r.Address, Weights: w}
}

// apiError is an answer other than 200.
type apiError struct {
	Op     string
	Status int
	Body   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.Op, e.Status, strings.TrimSpace(e.Body))
}

// apiClient calls beacon's HTTP API.
type apiClient struct {
	base string
	hc   *http.Client
}

func newAPIClient(httpAddr string) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &apiClient{base: "http://" + httpAddr, hc: &http.Client{Timeout: apiTimeout, Transport: tr}}
}

// close drops idle connections, such as those to a process that is gone.
func (c *apiClient) close() { c.hc.CloseIdleConnections() }

// do sends one request and returns the answer's body and headers; any
// status but 200 is an *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, resp.Header, &apiError{Op: method + " " + path, Status: resp.StatusCode, Body: string(b)}
	}
	return b, resp.Header, nil
}

func (c *apiClient) register(ctx context.Context, r registration) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, http.MethodPut, "/v1/agent/service/register", body)
	return err
}

func (c *apiClient) deregister(ctx context.Context, id string) error {
	_, _, err := c.do(ctx, http.MethodPut, "/v1/agent/service/deregister/"+url.PathEscape(id), nil)
	return err
}

// service reads one instance; nil (and no error) when beacon answers 404.
func (c *apiClient) service(ctx context.Context, id string) (*agentService, error) {
	b, _, err := c.do(ctx, http.MethodGet, "/v1/agent/service/"+url.PathEscape(id), nil)
	if e := (*apiError)(nil); errors.As(err, &e) && e.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s agentService
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("GET /v1/agent/service/%s: %w", id, err)
	}
	return &s, nil
}

// services lists every instance by ID.
func (c *apiClient) services(ctx context.Context) (map[string]*agentService, error) {
	b, _, err := c.do(ctx, http.MethodGet, "/v1/agent/services", nil)
	if err != nil {
		return nil, err
	}
	var m map[string]*agentService
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("GET /v1/agent/services: %w", err)
	}
	return m, nil
}

// catalogIndex is the X-Consul-Index of GET /v1/catalog/services.
func (c *apiClient) catalogIndex(ctx context.Context) (uint64, error) {
	_, h, err := c.do(ctx, http.MethodGet, "/v1/catalog/services", nil)
	if err != nil {
		return 0, err
	}
	v := h.Get("X-Consul-Index")
	idx, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("X-Consul-Index %q: %w", v, err)
	}
	return idx, nil
}

// metric reads one unlabelled sample (such as go_goroutines) from /metrics.
func (c *apiClient) metric(ctx context.Context, name string) (float64, error) {
	b, _, err := c.do(ctx, http.MethodGet, "/metrics", nil)
	if err != nil {
		return 0, err
	}
	return stats.Metric(bytes.NewReader(b), name)
}
