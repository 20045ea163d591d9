package health

import (
	"sync"
	"time"
)

// rareLogPeriod is how often at most a warning that can repeat for every
// run (a host out of descriptors, a full pool) is logged.
const rareLogPeriod = time.Minute

// rareLog lets a warning through at most once per rareLogPeriod and
// counts the ones it held back, so that a condition hitting 10,000 checks
// costs one log line a minute, not 10,000 a second.
type rareLog struct {
	mu   sync.Mutex
	next time.Time
	held int
}

// allow reports whether to log now and how many were held back since the
// last one logged.
func (r *rareLog) allow(now time.Time) (held int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Before(r.next) {
		r.held++
		return 0, false
	}
	held, r.held = r.held, 0
	r.next = now.Add(rareLogPeriod)
	return held, true
}
