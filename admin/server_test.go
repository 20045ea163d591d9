package admin

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowAndOversizedRequests sends, over raw TCP to a NewServer, the
// requests a careless or hostile client sends: headers that never end
// (slowloris), a body that stops coming, headers over MaxHeaderBytes and a
// declared body over 1 MiB. Each costs the server a bounded time, gets a
// 4xx naming what was wrong where HTTP allows an answer at all, and leaves
// the catalog as it was. The read timeouts are shortened here; their
// defaults are checked by TestNewServer.
func TestSlowAndOversizedRequests(t *testing.T) {
	e := newEnv(t, Config{})
	e.seed()
	addr := e.serveTimed(200*time.Millisecond, 400*time.Millisecond)

	register := "PUT /v1/agent/service/register HTTP/1.1\r\nHost: beacon\r\n"
	cases := []struct {
		name string
		send string
		// code is the status expected, 0 for the connection closed with
		// no answer (net/http does not answer a header read timeout).
		code     int
		contains string
	}{
		{"headers never end", register + "Content-Type: application/json\r\n", 0, ""},
		{"body stops coming", register + "Content-Length: 100\r\n\r\n" + `{"Name":"slow"`, 400, "body"},
		{"headers over 64 KiB", register + "X-Filler: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", 431, "Header"},
		{"body declared over 1 MiB", register + fmt.Sprintf("Content-Length: %d\r\n\r\n{", maxBody+1), 413, "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.st.Snapshot()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			if _, err := io.WriteString(conn, c.send); err != nil {
				t.Fatalf("send: %v", err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			took := time.Since(start)
			switch {
			case c.code == 0 && err == nil:
				t.Errorf("answered %d; want the connection closed", resp.StatusCode)
			case c.code == 0:
				if took > 2*time.Second {
					t.Errorf("connection held for %s", took)
				}
			case err != nil:
				t.Fatalf("no answer after %s: %v", took, err)
			default:
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != c.code || !strings.Contains(string(b), c.contains) {
					t.Errorf("got %d %q; want %d naming %q", resp.StatusCode, b, c.code, c.contains)
				}
			}
			sameCatalog(t, before, e.st.Snapshot())
		})
	}
}
