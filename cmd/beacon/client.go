package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
)

// defaultHTTPAddr is where the CLI finds beacon when nothing says otherwise.
const defaultHTTPAddr = "127.0.0.1:8500"

// client talks to beacon's HTTP API with net/http and encoding/json only,
// against the Consul-shaped endpoints of DESIGN.md.
type client struct {
	base  *url.URL // scheme, host and an optional path prefix
	token string
	http  *http.Client
}

// apiError is a non-2xx answer; Msg is the server's one-line message.
type apiError struct {
	Code int
	Msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Msg, e.Code) }

// newClient builds a client for addr, which is host:port, host, or an
// http:// or https:// URL. caFile, if set, holds the CA certificates
// that sign the server's certificate.
func newClient(addr, token, caFile string) (*client, error) {
	base, err := parseHTTPAddr(addr)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pool, err := loadCAs(caFile)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &client{base: base, token: token, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// parseHTTPAddr turns the forms people write into a base URL.
func parseHTTPAddr(addr string) (*url.URL, error) {
	if addr == "" {
		addr = defaultHTTPAddr
	}
	if !strings.Contains(addr, "://") {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(strings.Trim(addr, "[]"), "8500")
		}
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("HTTP address %q is not host:port or an http:// or https:// URL", addr)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("HTTP address %q: scheme %q is neither http nor https", addr, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("HTTP address %q has no host", addr)
	}
	if !validHost(u.Hostname()) {
		return nil, fmt.Errorf("HTTP address %q: host %q is neither an IP address nor a host name", addr, u.Hostname())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// validHost accepts an IP address (an IPv6 zone of letters, digits, '.',
// '-' and '_') or a host name of the same characters, which is what a
// URL can carry and read back unchanged.
func validHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		h = a.Zone()
		if h == "" {
			return true
		}
	}
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// do sends method path?query with body as JSON (if not nil) and decodes
// a 2xx answer into out (if not nil).
func (c *client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("X-Consul-Token", c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return readAPIError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	return nil
}

// transportError says in one line that beacon could not be reached.
func (c *client) transportError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	return fmt.Errorf("cannot reach beacon at %s: %v (is `beacon serve` running? set -http-addr or BEACON_HTTP_ADDR)",
		c.base.Redacted(), err)
}

// readAPIError reads the server's message, one line of text/plain.
func readAPIError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := oneLine(string(b))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &apiError{Code: resp.StatusCode, Msg: msg}
}

// oneLine collapses whitespace runs, newlines included, to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
