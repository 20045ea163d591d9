package store

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound reports an unknown instance or check ID.
	ErrNotFound = errors.New("not found")
	// ErrClosed reports a write to a closed store.
	ErrClosed = errors.New("store is closed")
	// ErrLocked reports that another process holds the database lock.
	ErrLocked = errors.New("locked by another beacon")
	// ErrSchemaNewer reports a database written by a newer beacon.
	ErrSchemaNewer = errors.New("database schema is newer than this beacon supports")
	// ErrCorrupt reports a file that is not a readable beacon database.
	ErrCorrupt = errors.New("not a readable beacon database")
	// ErrInvalid is wrapped by every *ValidationError.
	ErrInvalid = errors.New("invalid input")
	// ErrWritesStopped reports a store that refuses writes because an
	// earlier commit failed with an unknown outcome, or bbolt failed
	// inside a write; reads keep serving the last published snapshot, and
	// a restart reloads the state from disk.
	ErrWritesStopped = errors.New("writes are stopped")
	// ErrUnavailable reports a write that etcd did not commit in time, or
	// could not be asked to.
	ErrUnavailable = errors.New("registry unavailable")
	// ErrNotLoaded reports a store on etcd that has not finished loading
	// the registry.
	ErrNotLoaded = errors.New("not loaded")
	// ErrNodeNameTaken reports a node started with the name of a live
	// node sharing the same registry in etcd.
	ErrNodeNameTaken = errors.New("node name taken")
	// ErrNotMember reports a health check's result that a node on etcd
	// did not write because it is not (or may no longer be) a live
	// member: another node runs its checks.
	ErrNotMember = errors.New("not a live member")
)

// ValidationError names the field that broke a rule, in one sentence
// meant for people.
type ValidationError struct {
	Field string
	Msg   string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// notFound names what was missing, Consul style.
func notFound(what, id string) error {
	return fmt.Errorf("unknown %s ID %q: %w", what, id, ErrNotFound)
}
