package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// maxBody is the largest request body accepted (DESIGN.md: 1 MiB).
const maxBody = 1 << 20

// readJSON reads r's body (at most maxBody bytes, else 413) and parses it
// as exactly one JSON value.
func readJSON(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.ContentLength > maxBody {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, errTooLarge
	case err != nil:
		return nil, badRequest("body: reading it failed: %s", err)
	}
	return parseJSON(b)
}

// readObject reads r's body as one JSON object.
func readObject(w http.ResponseWriter, r *http.Request) (*object, error) {
	v, err := readJSON(w, r)
	if err != nil {
		return nil, err
	}
	return asObject(v, "body", "")
}

var errTooLarge = errorf(http.StatusRequestEntityTooLarge, "body: larger than 1 MiB (%d bytes); send a smaller registration", maxBody)

// parseJSON parses exactly one JSON value, keeping numbers exact.
func parseJSON(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, badRequest("body: is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badRequest("body: not valid JSON: %s", jsonErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("body: has data after the JSON value; send one JSON object")
	}
	return v, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at byte " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

// object is a JSON object whose keys are matched the way Consul matches
// them: case-insensitively and with or without underscores, so "TTL",
// "ttl", "DeregisterCriticalServiceAfter" and
// "deregister_critical_service_after" all name their field.
type object struct {
	path   string // prefix of field names in errors, e.g. "Checks[1]."
	fields map[string]field
	// err is the first field that did not read (see fields.go).
	err error
}

type field struct {
	key string // as the client spelled it
	val any
}

// normKey folds a key to the form fields are looked up by.
func normKey(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "")) }

// asObject reads v as an object. name is the field v came from, for
// errors; path is the prefix of its own fields.
func asObject(v any, name, path string) (*object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("%s: must be a JSON object, not %s", name, kindOf(v))
	}
	o := &object{path: path, fields: make(map[string]field, len(m))}
	for k, val := range m {
		n := normKey(k)
		if prev, dup := o.fields[n]; dup {
			return nil, badRequest("%s%s: given twice, as %q and %q", path, k, prev.key, k)
		}
		o.fields[n] = field{key: k, val: val}
	}
	return o, nil
}

// take removes and returns the field known by any of names. A JSON null
// counts as absent.
func (o *object) take(names ...string) (field, bool) {
	for _, n := range names {
		f, ok := o.fields[normKey(n)]
		if !ok {
			continue
		}
		delete(o.fields, normKey(n))
		if f.val == nil {
			return f, false
		}
		return f, true
	}
	return field{}, false
}

// unknown lists the fields nobody took, as the client spelled them.
func (o *object) unknown() []string {
	var out []string
	for _, f := range o.fields {
		out = append(out, o.path+f.key)
	}
	slices.Sort(out)
	return out
}

// kindOf names a JSON value's type for error messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "an unknown value"
}

// present reports whether a field holds anything: not null, "", false, 0,
// [] or {}. Unsupported features are refused only when actually asked for.
func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case json.Number:
		return x.String() != "0"
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
