package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// tcpChecker runs a TCP check: a connection opened within the timeout is
// passing, anything else critical.
type tcpChecker struct {
	addr    string
	timeout time.Duration
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newTCPChecker(c *store.Check, dial func(context.Context, string, string) (net.Conn, error)) *tcpChecker {
	return &tcpChecker{addr: c.TCP, timeout: c.Timeout, dial: dial}
}

// Check connects and closes at once. Outputs are Consul's: "TCP connect
// <addr>: Success", or the error.
func (t *tcpChecker) Check(ctx context.Context) Result {
	conn, err := t.dial(ctx, "tcp", t.addr)
	if err != nil {
		if res, ok := noResult(err); ok {
			return res
		}
		var te *TargetError
		if errors.As(err, &te) {
			return critical(fmt.Sprintf("TCP connect %s: refused: %v", t.addr, te))
		}
		if timedOut(ctx, err) {
			return critical(fmt.Sprintf("TCP connect %s: timed out after %s", t.addr, t.timeout))
		}
		return critical(err.Error())
	}
	conn.Close()
	return Result{Status: store.Passing, Output: fmt.Sprintf("TCP connect %s: Success", t.addr)}
}

var _ Checker = (*tcpChecker)(nil)
