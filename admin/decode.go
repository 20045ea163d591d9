package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
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

func (o *object) str(name string, aliases ...string) (string, error) {
	f, ok := o.take(append([]string{name}, aliases...)...)
	if !ok {
		return "", nil
	}
	s, isStr := f.val.(string)
	if !isStr {
		return "", badRequest("%s%s: must be a string, not %s", o.path, name, kindOf(f.val))
	}
	return s, nil
}

func (o *object) boolean(name string) (bool, error) {
	f, ok := o.take(name)
	if !ok {
		return false, nil
	}
	b, isBool := f.val.(bool)
	if !isBool {
		return false, badRequest("%s%s: must be true or false, not %s", o.path, name, kindOf(f.val))
	}
	return b, nil
}

// integer reads a whole number within ±2^31, so no later arithmetic can
// overflow; the store checks the real range and says what it is.
func (o *object) integer(name string) (int, error) {
	f, ok := o.take(name)
	if !ok {
		return 0, nil
	}
	return toInt(o.path+name, f.val)
}

func toInt(name string, v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, badRequest("%s: must be a number, not %s", name, kindOf(v))
	}
	x, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
		return 0, badRequest("%s: %s is not a whole number between %d and %d", name, n, math.MinInt32, math.MaxInt32)
	}
	return int(x), nil
}

func (o *object) strings(name string) ([]string, error) {
	f, ok := o.take(name)
	if !ok {
		return nil, nil
	}
	list, isList := f.val.([]any)
	if !isList {
		return nil, badRequest("%s%s: must be a list of strings, not %s", o.path, name, kindOf(f.val))
	}
	out := make([]string, 0, len(list))
	for i, v := range list {
		s, isStr := v.(string)
		if !isStr {
			return nil, badRequest("%s%s[%d]: must be a string, not %s", o.path, name, i, kindOf(v))
		}
		out = append(out, s)
	}
	return out, nil
}

func (o *object) stringMap(name string) (map[string]string, error) {
	f, ok := o.take(name)
	if !ok {
		return nil, nil
	}
	m, isMap := f.val.(map[string]any)
	if !isMap {
		return nil, badRequest("%s%s: must be an object of strings, not %s", o.path, name, kindOf(f.val))
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, isStr := v.(string)
		if !isStr {
			return nil, badRequest("%s%s[%s]: must be a string, not %s", o.path, name, quote(k), kindOf(v))
		}
		out[k] = s
	}
	return out, nil
}

// headers reads an HTTP check's Header: each name maps to a list of
// values, as in Consul.
func (o *object) headers(name string) (map[string][]string, error) {
	f, ok := o.take(name)
	if !ok {
		return nil, nil
	}
	m, isMap := f.val.(map[string]any)
	if !isMap {
		return nil, badRequest("%s%s: must be an object mapping names to lists of strings, not %s", o.path, name, kindOf(f.val))
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		list, isList := v.([]any)
		if !isList {
			return nil, badRequest("%s%s[%s]: must be a list of strings, not %s", o.path, name, quote(k), kindOf(v))
		}
		for _, x := range list {
			s, isStr := x.(string)
			if !isStr {
				return nil, badRequest("%s%s[%s]: must be a list of strings, not a list with %s", o.path, name, quote(k), kindOf(x))
			}
			out[k] = append(out[k], s)
		}
	}
	return out, nil
}

// duration reads a duration as Consul does: a Go duration string ("10s",
// "1m30s") or a number of nanoseconds. A number below a millisecond is
// refused: it is almost always seconds written without a unit.
func (o *object) duration(name string) (time.Duration, error) {
	f, ok := o.take(name)
	if !ok {
		return 0, nil
	}
	field := o.path + name
	switch v := f.val.(type) {
	case string:
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, badRequest("%s: %s is not a duration; use a form such as \"10s\" or \"1m\"", field, quote(v))
		}
		return d, nil
	case json.Number:
		x, err := strconv.ParseFloat(v.String(), 64)
		if err != nil || math.Abs(x) > float64(math.MaxInt64) {
			return 0, badRequest("%s: %s is out of range; use a form such as \"10s\"", field, v)
		}
		if x > 0 && x < float64(time.Millisecond) {
			return 0, badRequest("%s: the number %s is read as nanoseconds, as Consul does; write a duration such as \"%ss\"", field, v, v)
		}
		return time.Duration(x), nil
	}
	return 0, badRequest("%s: must be a duration string such as \"10s\", not %s", field, kindOf(f.val))
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
