package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// Result is the outcome of one run of a check.
type Result struct {
	Status store.Status
	Output string
	// Local is set when the run failed because this host ran out of
	// something (descriptors, socket buffers, memory), which says nothing
	// about the target: such a run has no result, and the check keeps its
	// status until a later run has one. Status and Output are then unset.
	Local error
}

// Checker runs one kind of check once. ctx carries the check's timeout;
// Check returns when it ends at the latest. The scheduler owns
// everything else: when to run, thresholds, and writing results.
type Checker interface {
	Check(ctx context.Context) Result
}

// critical is the result of a check that failed with msg.
func critical(msg string) Result { return Result{Status: store.Critical, Output: msg} }

// localErrnos are the errors of socket and connect that mean this host is
// out of a resource: descriptors of the process (EMFILE) or the system
// (ENFILE), socket buffers (ENOBUFS), kernel memory (ENOMEM).
var localErrnos = [...]syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM}

// localErrno returns the errno of err when it is one of localErrnos.
func localErrno(err error) (syscall.Errno, bool) {
	for _, errno := range localErrnos {
		if errors.Is(err, errno) {
			return errno, true
		}
	}
	return 0, false
}

// noResult is the result of a run that failed with err for a local
// reason; ok is false when err is not one.
func noResult(err error) (res Result, ok bool) {
	if _, ok := localErrno(err); ok {
		return Result{Local: err}, true
	}
	return Result{}, false
}

// timedOut reports whether err ended a run because the run's timeout, the
// deadline of ctx, passed. The dialer's own deadline, set from ctx, can
// fire a moment before ctx reports that it is done.
func timedOut(ctx context.Context, err error) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	dl, ok := ctx.Deadline()
	return ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(dl)
}

// safeCheck runs c, turning a panic into a critical result so that one
// broken check cannot take the scheduler down.
func (s *Scheduler) safeCheck(ctx context.Context, id string, c Checker) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("health check panicked", "check", id, "panic", p, "stack", string(debug.Stack()))
			res = critical(fmt.Sprintf("check panicked: %v", p))
		}
	}()
	return c.Check(ctx)
}
