package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/beacon-dns/beacon/store"
)

// maxBody bounds how much of a body a check reads. A body must end within
// the timeout to pass; one that streams faster than that could otherwise
// keep a core busy for the whole timeout, so a body still going after
// maxBody bytes is failed at once as one that would not end.
const maxBody = 16 << 20

// Notes that lead an output whose body was cut, as Consul's does; the
// second when the body was not read to its end.
const (
	note     = "Captured %d of %d bytes\n...\n"
	noteMore = "Captured %d of more than %d bytes\n...\n"
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

// Check sends the request and reads the body to its end. A body that does
// not end within the timeout, or within maxBody bytes, makes the check
// critical whatever the status code: the target did not answer in time.
// The output is the status line and as much of the body as fits in
// store.MaxOutputLen.
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
		if res, ok := noResult(err); ok {
			return res
		}
		return critical(h.failure(ctx, err))
	}
	defer resp.Body.Close()
	bp := headPool.Get().(*[]byte)
	defer headPool.Put(bp)
	kept, total, err := capture(resp.Body, *bp)
	head := fmt.Sprintf("HTTP %s %s: %s Output: ", h.method, h.url, resp.Status)
	if err != nil {
		tail := "\n\n" + h.failure(ctx, err)
		return critical(clip(head + excerpt((*bp)[:kept], total, true, store.MaxOutputLen-len(head)-len(tail)) + tail))
	}
	out := clip(head + excerpt((*bp)[:kept], total, false, store.MaxOutputLen-len(head)))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return Result{Status: store.Passing, Output: out}
	case resp.StatusCode == http.StatusTooManyRequests:
		return Result{Status: store.Warning, Output: out}
	}
	return critical(out)
}

// errBodyTooLong ends the read of a body longer than maxBody.
var errBodyTooLong = fmt.Errorf("body still going after %d MiB", maxBody>>20)

// failure words an error of the request. A connection refused by Targets
// or a timeout says which, since "context deadline exceeded" or a dial
// error does not tell a user what to change.
func (h *httpChecker) failure(ctx context.Context, err error) string {
	var te *TargetError
	var ue *url.Error
	switch {
	case errors.As(err, &te) && errors.As(err, &ue) && ue.URL != h.url:
		return fmt.Sprintf("HTTP %s %s: redirect to %s refused: %v", h.method, h.url, ue.URL, te)
	case errors.As(err, &te):
		return fmt.Sprintf("HTTP %s %s: refused: %v", h.method, h.url, te)
	case timedOut(ctx, err):
		return fmt.Sprintf("HTTP %s %s: timed out after %s", h.method, h.url, h.timeout)
	case errors.Is(err, errBodyTooLong):
		return fmt.Sprintf("HTTP %s %s: %v", h.method, h.url, err)
	}
	return err.Error()
}

// headPool holds the buffers a body's first bytes are read into; no
// output shows more than store.MaxOutputLen of them.
var headPool = sync.Pool{New: func() any { b := make([]byte, store.MaxOutputLen); return &b }}

// capture reads r to its end, keeping its first len(head) bytes in head.
// It returns how many it kept and how many it read; reading stops with
// errBodyTooLong after maxBody bytes.
func capture(r io.Reader, head []byte) (kept int, total int64, err error) {
	kept, err = io.ReadFull(r, head)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return kept, int64(kept), nil
	}
	if err != nil {
		return kept, int64(kept), err
	}
	rest, err := io.Copy(io.Discard, io.LimitReader(r, maxBody-int64(kept)+1))
	total = int64(kept) + rest
	if err == nil && total > maxBody {
		err = errBodyTooLong
	}
	return kept, total, err
}

// excerpt renders a body of total bytes, of which b are the first, in at
// most room bytes: whole when it fits, else as many of its first bytes as
// fit behind Consul's "Captured N of M bytes" note, cut at a character
// boundary. cut says the body was not read to its end, so that total
// only counts what was.
func excerpt(b []byte, total int64, cut bool, room int) string {
	if int64(len(b)) == total && len(b) <= room {
		return string(b)
	}
	format := note
	if cut {
		format = noteMore
	}
	// The shown count is below room, so room's digits bound the note.
	n := room - len(fmt.Sprintf(format, room, total))
	if n <= 0 {
		return ""
	}
	shown := trimPartialRune(b[:min(n, len(b))])
	return fmt.Sprintf(format, len(shown), total) + string(shown)
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
