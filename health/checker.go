package health

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/beacon-dns/beacon/store"
)

// Result is the outcome of one run of a check.
type Result struct {
	Status store.Status
	Output string
}

// Checker runs one kind of check once. ctx carries the check's timeout;
// Check returns when it ends at the latest. The scheduler owns
// everything else: when to run, thresholds, and writing results.
type Checker interface {
	Check(ctx context.Context) Result
}

// critical is the result of a check that failed with msg.
func critical(msg string) Result { return Result{Status: store.Critical, Output: msg} }

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
