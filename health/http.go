package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/beacon-dns/beacon/store"
)

// Output capture limits, as in Consul: the first maxShown bytes of a body
// go into the output; the rest is read, up to maxCounted bytes in all,
// only to count it, so that a huge or endless body costs a bounded read.
const (
	maxShown   = 4 << 10
	maxCounted = 64 << 10
)

// userAgent is Consul's, so that targets that filter or quiet their logs
// for health checks by User-Agent keep doing so when moved to beacon.
const userAgent = "Consul Health Check"

// httpChecker runs an HTTP check: 2xx is passing, 429 (Too Many Requests,
// RFC 6585) warning, anything else or an error critical. Redirects are
// followed, up to 10, as Consul's client does.
type httpChecker struct {
	client  *http.Client
	method  string
	url     string
	body    string
	host    string
	header  http.Header // built once; requests only read it
	timeout time.Duration
}

// defaultHeader is shared, read-only, by every check without headers of
// its own: most of them, so 10,000 checks need not hold 10,000 copies.
var defaultHeader = http.Header{"User-Agent": {userAgent}, "Accept": {"text/plain, text/*, */*"}}

func newHTTPChecker(c *store.Check, client *http.Client) *httpChecker {
	h := defaultHeader
	if len(c.Header) > 0 {
		// Canonical names, so that "user-agent" replaces the default
		// instead of going out beside it.
		h = http.Header{}
		for k, v := range c.Header {
			k = textproto.CanonicalMIMEHeaderKey(k)
			h[k] = append(h[k], v...)
		}
		for k, v := range defaultHeader {
			if _, ok := h[k]; !ok {
				h[k] = v
			}
		}
	}
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	return &httpChecker{
		client: client,
		method: method, url: c.HTTP, body: c.Body, host: h.Get("Host"), header: h,
		timeout: c.Timeout,
	}
}

// Check sends the request and reads at most maxCounted bytes of the body.
// A body that cannot be read to its end within the timeout makes the
// check critical, whatever the status code: the target did not answer in
// time.
func (h *httpChecker) Check(ctx context.Context) Result {
	var body io.Reader
	if h.body != "" {
		body = strings.NewReader(h.body)
	}
	req, err := http.NewRequestWithContext(ctx, h.method, h.url, body)
	if err != nil {
		return critical(fmt.Sprintf("HTTP %s %s: %v", h.method, h.url, err))
	}
	req.Header = h.header
	if h.host != "" {
		req.Host = h.host
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return critical(h.failure(ctx, err))
	}
	defer resp.Body.Close()
	shown, err := capture(resp.Body)
	out := fmt.Sprintf("HTTP %s %s: %s Output: %s", h.method, h.url, resp.Status, shown)
	switch {
	case err != nil:
		return critical(out + "\n\n" + h.failure(ctx, err))
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return Result{Status: store.Passing, Output: out}
	case resp.StatusCode == http.StatusTooManyRequests:
		return Result{Status: store.Warning, Output: out}
	}
	return critical(out)
}

// failure words an error of the request. A timeout says which, since the
// bare "context deadline exceeded" does not tell a user what to change.
func (h *httpChecker) failure(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("HTTP %s %s: timed out after %s", h.method, h.url, h.timeout)
	}
	return err.Error()
}

var shownPool = sync.Pool{New: func() any { b := make([]byte, maxShown); return &b }}

// capture reads r and returns its first maxShown bytes, led by Consul's
// "Captured X of Y bytes" note when the body was longer. Bodies over
// maxCounted are not read to the end; the note then says "more than".
func capture(r io.Reader) (string, error) {
	bp := shownPool.Get().(*[]byte)
	defer shownPool.Put(bp)
	buf := *bp
	n, err := io.ReadFull(r, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return string(buf[:n]), nil
	}
	if err != nil {
		return string(trimPartialRune(buf[:n])), err
	}
	rest, err := io.Copy(io.Discard, io.LimitReader(r, maxCounted-maxShown+1))
	if err != nil {
		return string(trimPartialRune(buf[:n])), err
	}
	if rest == 0 {
		return string(buf[:n]), nil
	}
	shown := trimPartialRune(buf[:n])
	if total := int64(n) + rest; total <= maxCounted {
		return fmt.Sprintf("Captured %d of %d bytes\n...\n%s", len(shown), total, shown), nil
	}
	return fmt.Sprintf("Captured %d of more than %d bytes\n...\n%s", len(shown), maxCounted, shown), nil
}

// trimPartialRune drops a UTF-8 sequence cut short at the end of b, so
// that a cut body does not end in a broken character.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// clip keeps an output within what the store keeps, cut at a character
// boundary, so that the store stores exactly what was compared with it.
func clip(s string) string {
	if len(s) <= store.MaxOutputLen {
		return s
	}
	return string(trimPartialRune([]byte(s[:store.MaxOutputLen])))
}

var _ Checker = (*httpChecker)(nil)
