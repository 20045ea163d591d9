package health

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/store"
)

func TestTCPChecker(t *testing.T) {
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	closedL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closedL.Addr().String()
	closedL.Close()
	// A dialer that never connects stands in for a silent host: nothing
	// on loopback drops SYNs without privileges.
	blackhole := func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
	}
	var d net.Dialer

	tests := []struct {
		name   string
		addr   string
		dial   func(context.Context, string, string) (net.Conn, error)
		status store.Status
		output string
	}{
		{"listening", open.Addr().String(), d.DialContext, store.Passing, "TCP connect " + open.Addr().String() + ": Success"},
		{"closed", closedAddr, d.DialContext, store.Critical, "dial tcp " + closedAddr + ": connect: connection refused"},
		{"silent past timeout", "192.0.2.1:80", blackhole, store.Critical, "TCP connect 192.0.2.1:80: timed out after 200ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &store.Check{TCP: tc.addr, Timeout: 200 * time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
			defer cancel()
			begin := time.Now()
			res := newTCPChecker(c, tc.dial).Check(ctx)
			if took := time.Since(begin); took > time.Second {
				t.Errorf("took %s; the timeout is 200ms", took)
			}
			if res.Status != tc.status || res.Output != tc.output {
				t.Errorf("got %s %q, want %s %q", res.Status, res.Output, tc.status, tc.output)
			}
			if strings.Contains(res.Output, "context") {
				t.Errorf("output %q talks about contexts, not the target", res.Output)
			}
		})
	}
}
