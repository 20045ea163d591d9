package health

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
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
	hole := blackHole(t)
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
		{"silent past timeout", hole, d.DialContext, store.Critical, "TCP connect " + hole + ": timed out after 200ms"},
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

// deadlineOnly is a context whose deadline passed but which does not yet
// report it, as a dial's context can look for a moment when the dialer's
// own deadline fires first.
type deadlineOnly struct {
	context.Context
	at time.Time
}

func (d deadlineOnly) Deadline() (time.Time, bool) { return d.at, true }

func TestTimedOut(t *testing.T) {
	ioTimeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-expired.Done()
	past := deadlineOnly{context.Background(), time.Now().Add(-time.Millisecond)}
	future := deadlineOnly{context.Background(), time.Now().Add(time.Hour)}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"context done", expired, errors.New("anything"), true},
		{"dialer's deadline first", past, ioTimeout, true},
		{"a timeout of its own, deadline ahead", future, ioTimeout, false},
		{"deadline passed, not a timeout", past, syscall.ECONNREFUSED, false},
		{"no deadline", context.Background(), ioTimeout, false},
	}
	for _, tc := range tests {
		if got := timedOut(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: timedOut = %v, want %v", tc.name, got, tc.want)
		}
	}
}
