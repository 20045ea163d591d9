package admin

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The readers below take one field of an object and convert it. A field
// that is absent or null reads as the zero value. The first field of the
// wrong type is kept in o.err and later reads do nothing, so a decoder
// lists its fields and checks o.err once.

// fail records the first error, naming the field with the object's path.
func (o *object) fail(name, format string, args ...any) {
	if o.err == nil {
		o.err = badRequest("%s%s: %s", o.path, name, fmt.Sprintf(format, args...))
	}
}

// get takes the field for a reader, or reports that there is nothing to
// read: the field is absent or an earlier one failed.
func (o *object) get(name string) (any, bool) {
	f, ok := o.take(name)
	return f.val, ok && o.err == nil
}

func (o *object) str(name string) string {
	v, ok := o.get(name)
	if !ok {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		o.fail(name, "must be a string, not %s", kindOf(v))
	}
	return s
}

func (o *object) boolean(name string) bool {
	v, ok := o.get(name)
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	if !isBool {
		o.fail(name, "must be true or false, not %s", kindOf(v))
	}
	return b
}

// integer reads a whole number within ±2^31, so no later arithmetic can
// overflow; the store checks the real range and says what it is.
func (o *object) integer(name string) int {
	v, ok := o.get(name)
	if !ok {
		return 0
	}
	n, isNum := v.(json.Number)
	if !isNum {
		o.fail(name, "must be a number, not %s", kindOf(v))
		return 0
	}
	x, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
		o.fail(name, "%s is not a whole number between %d and %d", n, math.MinInt32, math.MaxInt32)
		return 0
	}
	return int(x)
}

func (o *object) strings(name string) []string {
	v, ok := o.get(name)
	if !ok {
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		o.fail(name, "must be a list of strings, not %s", kindOf(v))
		return nil
	}
	out := make([]string, 0, len(list))
	for i, x := range list {
		s, isStr := x.(string)
		if !isStr {
			o.fail(fmt.Sprintf("%s[%d]", name, i), "must be a string, not %s", kindOf(x))
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (o *object) stringMap(name string) map[string]string {
	v, ok := o.get(name)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		o.fail(name, "must be an object of strings, not %s", kindOf(v))
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, isStr := x.(string)
		if !isStr {
			o.fail(name+"["+quote(k)+"]", "must be a string, not %s", kindOf(x))
			return nil
		}
		out[k] = s
	}
	return out
}

// headers reads an HTTP check's Header: each name maps to a list of
// values, as in Consul.
func (o *object) headers(name string) map[string][]string {
	v, ok := o.get(name)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		o.fail(name, "must be an object mapping names to lists of strings, not %s", kindOf(v))
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, x := range m {
		list, isList := x.([]any)
		if !isList {
			o.fail(name+"["+quote(k)+"]", "must be a list of strings, not %s", kindOf(x))
			return nil
		}
		for _, e := range list {
			s, isStr := e.(string)
			if !isStr {
				o.fail(name+"["+quote(k)+"]", "must be a list of strings, not a list with %s", kindOf(e))
				return nil
			}
			out[k] = append(out[k], s)
		}
	}
	return out
}

// duration reads a duration as Consul does: a Go duration string ("10s",
// "1m30s") or a number of nanoseconds. A number below a millisecond is
// refused: it is almost always seconds written without a unit. Every
// refusal says "invalid duration", the phrase Consul's clients look for.
func (o *object) duration(name string) time.Duration {
	v, ok := o.get(name)
	if !ok {
		return 0
	}
	switch x := v.(type) {
	case string:
		if x == "" {
			return 0
		}
		d, err := time.ParseDuration(x)
		if err != nil {
			o.fail(name, "invalid duration %s; use a form such as \"10s\" or \"1m\"", quote(x))
		}
		return d
	case json.Number:
		f, err := strconv.ParseFloat(x.String(), 64)
		switch {
		case err != nil || math.Abs(f) > float64(math.MaxInt64):
			o.fail(name, "invalid duration %s: out of range; use a form such as \"10s\"", x)
		case f > 0 && f < float64(time.Millisecond):
			o.fail(name, "invalid duration %s: a number is read as nanoseconds, as Consul does; write a duration such as \"%ss\"", x, x)
		}
		return time.Duration(f)
	}
	o.fail(name, "invalid duration: must be a string such as \"10s\", not %s", kindOf(v))
	return 0
}
