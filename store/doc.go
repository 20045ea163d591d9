// Package store is beacon's single source of truth: the registry model and
// its validation, BoltDB persistence, an immutable in-memory snapshot that
// readers load without locks, a change index that never goes backwards, a
// change feed, and the expiry of instances left critical too long.
//
// All writes go through one committer goroutine. It applies queued writes
// in order to a copy-on-write view of the current snapshot, commits the
// durable ones to BoltDB in a single transaction (one fsync for everything
// queued while the previous commit ran), and only then publishes the new
// snapshot and answers the callers.
package store
