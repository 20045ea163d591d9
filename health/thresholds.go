package health

import "github.com/beacon-dns/beacon/store"

// thresholds implements SuccessBeforePassing and FailuresBeforeCritical
// as Consul's StatusHandler does (agent/checks/check.go):
//   - passing and warning results count as successes, critical ones as
//     failures, and each resets the other count;
//   - a success is reported once SuccessBeforePassing successes came in a
//     row, a failure once FailuresBeforeCritical failures did; until then
//     the check keeps its status and output;
//   - both counts start full, so the first result after registration or
//     restart is reported at once (a healthy instance shows in DNS right
//     away), and the thresholds guard every later change; 0 and 1 mean
//     the same: report every result.
type thresholds struct {
	successBefore, failuresBefore int
	successes, failures           int
}

func newThresholds(c *store.Check) thresholds {
	return thresholds{
		successBefore: c.SuccessBeforePassing, failuresBefore: c.FailuresBeforeCritical,
		successes: c.SuccessBeforePassing, failures: c.FailuresBeforeCritical,
	}
}

// report counts a result and says whether it should be recorded.
func (t *thresholds) report(s store.Status) bool {
	if store.Warning.Worse(s) == store.Warning { // passing or warning
		t.successes = min(t.successes+1, t.successBefore)
		t.failures = 0
		return t.successes >= t.successBefore
	}
	t.failures = min(t.failures+1, t.failuresBefore)
	t.successes = 0
	return t.failures >= t.failuresBefore
}
