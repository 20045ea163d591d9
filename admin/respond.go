package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// setIndex sets X-Consul-Index; it is at least 1, as Consul's clients
// treat 0 as "no index".
func setIndex(w http.ResponseWriter, index uint64) {
	w.Header().Set("X-Consul-Index", strconv.FormatUint(max(index, 1), 10))
}

// writeJSON answers 200 with v as JSON, indented when the client asked
// for ?pretty as Consul allows.
func writeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	_, pretty := r.URL.Query()["pretty"]
	body, err := encodeJSON(v, pretty)
	if err != nil {
		return err
	}
	return writeBody(w, body)
}

// encodeJSON encodes v as Consul does, indented when pretty.
func encodeJSON(v any, pretty bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if pretty {
		enc.SetIndent("", "    ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, errorf(http.StatusInternalServerError, "encoding the answer: %s", err)
	}
	return buf.Bytes(), nil
}

// writeBody answers 200 with JSON already encoded.
func writeBody(w http.ResponseWriter, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

// writeOK answers a write: 200 with an empty body, which is what Consul
// sends and what its clients expect.
func (a *API) writeOK(w http.ResponseWriter) error {
	setIndex(w, a.st.Snapshot().Index())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// writeText answers 200 with one line of text/plain.
func writeText(w http.ResponseWriter, s string) error {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(s + "\n"))
	return nil
}
