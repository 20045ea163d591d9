package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/beacon-dns/beacon/store"
)

// httpError is an error with the status code it answers with. Its message
// is one line meant for people: it names the field and the rule.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return errorf(http.StatusBadRequest, format, args...)
}

// storeError maps the store's errors onto status codes in one place:
// invalid input is 400, an unknown ID 404, a closed store, one that
// stopped taking writes (its message says what is known of the write) or
// an etcd that did not commit in time 503, and anything else (a commit
// that changed nothing) 500.
func storeError(err error) error {
	var ve *store.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve), errors.Is(err, store.ErrInvalid):
		return errorf(http.StatusBadRequest, "%s", err)
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "%s", err)
	case errors.Is(err, store.ErrClosed), errors.Is(err, store.ErrWritesStopped),
		errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrNotLoaded):
		return errorf(http.StatusServiceUnavailable, "%s", err)
	}
	return errorf(http.StatusInternalServerError, "write failed, nothing was changed: %s", err)
}

// codeOf returns the status an error answers with.
func codeOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.code
	}
	return http.StatusInternalServerError
}

// maxErrorLen bounds error bodies; messages quote input, which may be long.
const maxErrorLen = 1024

// writeError answers with err as one line of text/plain.
func writeError(w http.ResponseWriter, err error) {
	msg := oneLine(err.Error())
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(codeOf(err))
	_, _ = w.Write([]byte(msg + "\n"))
}

// oneLine turns any message into a single bounded line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen] + "…"
	}
	return s
}

// quote quotes a value from a request for an error message, shortened so
// the message stays readable.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}
