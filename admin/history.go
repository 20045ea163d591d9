package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// Historian reads the health transitions the store keeps per instance;
// *store.Store satisfies it.
type Historian interface {
	History(id string) ([]store.Transition, error)
}

// transitionJSON is one health transition of an instance.
type transitionJSON struct {
	Time    time.Time
	From    store.Status
	To      store.Status
	CheckID string
	Output  string
}

// history is GET /v1/beacon/history/:id: the instance's health
// transitions, newest first, the last store.HistoryLen of them, kept
// across restarts.
func (a *API) history(w http.ResponseWriter, r *http.Request) error {
	trs, err := a.transitions(r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]transitionJSON, len(trs))
	for i, t := range trs {
		out[i] = transitionJSON{Time: t.Time.UTC(), From: t.From, To: t.To, CheckID: t.CheckID, Output: t.Output}
	}
	return writeJSON(w, r, out)
}

// transitions reads an instance's history; an ID with neither an
// instance nor a history is a 404.
func (a *API) transitions(id string) ([]store.Transition, error) {
	trs, err := a.st.History(id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errorf(http.StatusNotFound, "no instance with ID %s is registered or has a history", quote(id))
	case err != nil:
		return nil, errorf(http.StatusInternalServerError, "reading the history of %s: %s", quote(id), err)
	}
	return trs, nil
}
