package health

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beacon-dns/beacon/store"
)

func runHTTP(t *testing.T, c *store.Check, rt http.RoundTripper) Result {
	t.Helper()
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	return newHTTPChecker(c, &http.Client{Transport: rt}).Check(ctx)
}

func TestHTTPChecker(t *testing.T) {
	mux := http.NewServeMux()
	for _, code := range []int{200, 204, 299, 429, 500, 404, 302} {
		mux.HandleFunc("/code/"+strconv.Itoa(code), func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			io.WriteString(w, "body of "+http.StatusText(code))
		})
	}
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/code/200", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+r.Host+" "+r.Header.Get("X-Probe")+" "+strings.Join(r.Header.Values("User-Agent"), ",")+" "+string(b))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rt := newTransport(false, Targets{})
	defer rt.CloseIdleConnections()

	tests := []struct {
		name   string
		check  store.Check
		status store.Status
		output string // the whole output, or with a trailing * its prefix
	}{
		{"200 passing", store.Check{HTTP: srv.URL + "/code/200"}, store.Passing,
			"HTTP GET " + srv.URL + "/code/200: 200 OK Output: body of OK"},
		{"204 passing", store.Check{HTTP: srv.URL + "/code/204"}, store.Passing,
			"HTTP GET " + srv.URL + "/code/204: 204 No Content Output: "},
		{"299 passing", store.Check{HTTP: srv.URL + "/code/299"}, store.Passing, "HTTP GET " + srv.URL + "/code/299: 299 status code 299 Output: *"},
		{"429 warning", store.Check{HTTP: srv.URL + "/code/429"}, store.Warning,
			"HTTP GET " + srv.URL + "/code/429: 429 Too Many Requests Output: body of Too Many Requests"},
		{"500 critical", store.Check{HTTP: srv.URL + "/code/500"}, store.Critical,
			"HTTP GET " + srv.URL + "/code/500: 500 Internal Server Error Output: body of Internal Server Error"},
		{"302 without location critical", store.Check{HTTP: srv.URL + "/code/302"}, store.Critical,
			"HTTP GET " + srv.URL + "/code/302: 302 Found Output: body of Found"},
		{"404 critical", store.Check{HTTP: srv.URL + "/nowhere"}, store.Critical, "HTTP GET " + srv.URL + "/nowhere: 404 Not Found*"},
		{"redirect followed", store.Check{HTTP: srv.URL + "/redirect"}, store.Passing,
			"HTTP GET " + srv.URL + "/redirect: 200 OK Output: body of OK"},
		{"redirect loop critical", store.Check{HTTP: srv.URL + "/loop"}, store.Critical, `Get "/loop": stopped after 10 redirects`},
		{"method header host body", store.Check{HTTP: srv.URL + "/echo", Method: "POST", Body: "hello",
			Header: map[string][]string{"X-Probe": {"yes"}, "Host": {"example.test"}}}, store.Passing,
			"HTTP POST " + srv.URL + "/echo: 200 OK Output: POST example.test yes Consul Health Check hello"},
		{"header names in any case", store.Check{HTTP: srv.URL + "/echo",
			Header: map[string][]string{"x-probe": {"lower"}, "user-agent": {"mine"}}}, store.Passing,
			"HTTP GET " + srv.URL + "/echo: 200 OK Output: GET " + strings.TrimPrefix(srv.URL, "http://") + " lower mine "},
		{"bad method", store.Check{HTTP: srv.URL, Method: "BAD METHOD"}, store.Critical, "HTTP BAD METHOD " + srv.URL + ": net/http: invalid method*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			res := runHTTP(t, &c, rt)
			if res.Status != tc.status {
				t.Errorf("status = %s, want %s (output %q)", res.Status, tc.status, res.Output)
			}
			if p, ok := strings.CutSuffix(tc.output, "*"); ok {
				if !strings.HasPrefix(res.Output, p) {
					t.Errorf("output = %q, want prefix %q", res.Output, p)
				}
			} else if res.Output != tc.output {
				t.Errorf("output = %q, want %q", res.Output, tc.output)
			}
		})
	}
}

// TestHTTPCheckerCutsLongBodies: a body longer than the output has room
// for is read to its end and counted, and the output (status line,
// Consul's note and the body's first bytes) fills but never exceeds
// store.MaxOutputLen, cut at a character boundary.
func TestHTTPCheckerCutsLongBodies(t *testing.T) {
	bodies := map[string]string{
		"/ascii":     strings.Repeat("a", 10000),
		"/multibyte": strings.Repeat("é", 50000), // 100,000 bytes: each cut point may split a character
		"/large":     strings.Repeat("z", 3<<20), // read to its end, well past any cap
		"/fits":      strings.Repeat("f", 2000),  // fits whole: no note
		"/exact":     "",                         // filled in below to fit exactly
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, bodies[r.URL.Path])
	}))
	defer srv.Close()
	head := func(path string) string { return "HTTP GET " + srv.URL + path + ": 200 OK Output: " }
	bodies["/exact"] = strings.Repeat("e", store.MaxOutputLen-len(head("/exact")))
	rt := newTransport(false, Targets{})
	defer rt.CloseIdleConnections()
	for path, body := range bodies {
		t.Run(path, func(t *testing.T) {
			res := runHTTP(t, &store.Check{HTTP: srv.URL + path}, rt)
			out, ok := strings.CutPrefix(res.Output, head(path))
			if res.Status != store.Passing || !ok {
				t.Fatalf("got %s %q…, want passing with the status line", res.Status, res.Output[:min(len(res.Output), 120)])
			}
			if len(res.Output) > store.MaxOutputLen {
				t.Errorf("output of %d bytes, over the cap of %d", len(res.Output), store.MaxOutputLen)
			}
			if len(head(path))+len(body) <= store.MaxOutputLen {
				if out != body {
					t.Errorf("a body that fits was changed to %q…", out[:min(len(out), 80)])
				}
				return
			}
			var shown, total int
			if _, err := fmt.Sscanf(out, "Captured %d of %d bytes\n...\n", &shown, &total); err != nil {
				t.Fatalf("cut body without Consul's note: %q…", out[:min(len(out), 80)])
			}
			_, rest, _ := strings.Cut(out, "\n...\n")
			if total != len(body) || shown != len(rest) || !strings.HasPrefix(body, rest) || !utf8.ValidString(rest) {
				t.Errorf("note says %d of %d; shows %d bytes, want a whole-character prefix of the %d-byte body", shown, total, len(rest), len(body))
			}
			if len(res.Output) < store.MaxOutputLen-utf8.UTFMax {
				t.Errorf("output of %d bytes leaves room unused below the cap of %d", len(res.Output), store.MaxOutputLen)
			}
		})
	}
}

func TestHTTPCheckerFailures(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	slowBody := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slowBody.Close()
	// Endless bodies: one streams as fast as it can, one a little every
	// 10 ms; neither ever ends.
	flood := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("y", 32<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer flood.Close()
	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			io.WriteString(w, "t")
			w.(http.Flusher).Flush()
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer trickle.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	rt := newTransport(false, Targets{})
	defer rt.CloseIdleConnections()

	tests := []struct {
		name, url, output string // output: whole, or with a * standing for anything
	}{
		{"hangs past timeout", hang.URL, "HTTP GET " + hang.URL + ": timed out after 200ms"},
		{"endless body, fast", flood.URL, "HTTP GET " + flood.URL + ": 200 OK Output: Captured *\n\nHTTP GET " + flood.URL + ": body still going after 16 MiB"},
		{"endless body, slow", trickle.URL, "HTTP GET " + trickle.URL + ": 200 OK Output: t*\n\nHTTP GET " + trickle.URL + ": timed out after 200ms"},
		{"body hangs past timeout", slowBody.URL, "HTTP GET " + slowBody.URL + ": 200 OK Output: partial\n\nHTTP GET " + slowBody.URL + ": timed out after 200ms"},
		{"closed", closed.URL, `Get "` + closed.URL + `": dial tcp ` + strings.TrimPrefix(closed.URL, "http://") + ": connect: connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			res := runHTTP(t, &store.Check{HTTP: tc.url, Timeout: 200 * time.Millisecond}, rt)
			if took := time.Since(begin); took > time.Second {
				t.Errorf("took %s; the timeout is 200ms", took)
			}
			prefix, suffix, wild := strings.Cut(tc.output, "*")
			matches := res.Output == tc.output || wild && strings.HasPrefix(res.Output, prefix) && strings.HasSuffix(res.Output, suffix)
			if res.Status != store.Critical || !matches {
				t.Errorf("got %s %q, want critical %q", res.Status, res.Output, tc.output)
			}
			if len(res.Output) > store.MaxOutputLen {
				t.Errorf("output of %d bytes, over the cap", len(res.Output))
			}
		})
	}
}

func TestHTTPCheckerTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secure") }))
	defer srv.Close()
	verified, skipping := newTransport(false, Targets{}), newTransport(true, Targets{})
	defer verified.CloseIdleConnections()
	defer skipping.CloseIdleConnections()

	res := runHTTP(t, &store.Check{HTTP: srv.URL}, verified)
	if res.Status != store.Critical || !strings.Contains(res.Output, "certificate") {
		t.Errorf("self-signed certificate, verifying: got %s %q, want critical naming the certificate", res.Status, res.Output)
	}
	res = runHTTP(t, &store.Check{HTTP: srv.URL, TLSSkipVerify: true}, skipping)
	if want := "HTTP GET " + srv.URL + ": 200 OK Output: secure"; res.Status != store.Passing || res.Output != want {
		t.Errorf("TLSSkipVerify: got %s %q, want passing %q", res.Status, res.Output, want)
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("x", store.MaxOutputLen-1) + "é" // the last rune straddles the limit
	if got := clip(long); len(got) != store.MaxOutputLen-1 || !strings.HasSuffix(got, "x") {
		t.Errorf("clip kept %d bytes ending %q; want %d ending in x", len(got), got[len(got)-2:], store.MaxOutputLen-1)
	}
	if got := clip("short"); got != "short" {
		t.Errorf("clip(short) = %q", got)
	}
}
