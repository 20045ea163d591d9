package admin

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// fkind is the type of a selectable field.
type fkind uint8

const (
	kString fkind = iota
	kInt
	kBool
	kList    // list of strings
	kMap     // map of strings
	kStruct  // object with named fields
	kStructs // list of objects
)

func (k fkind) String() string {
	return [...]string{"a string", "a number", "a boolean", "a list", "a map", "an object", "a list of objects"}[k]
}

// ops says which operators a kind takes, for error messages.
func (k fkind) ops() string {
	switch k {
	case kInt, kBool:
		return "use == or !="
	case kList, kMap:
		return "use contains, in, is empty or their negations"
	case kStructs:
		return "use is empty or is not empty, or select a field of its elements"
	case kStruct:
		return "select one of its fields"
	}
	return "use ==, !=, contains, in, matches or is empty"
}

// ftype describes a selectable field; kStruct and kStructs have fields.
type ftype struct {
	kind   fkind
	fields map[string]*ftype
}

func (t *ftype) allows(o op) bool {
	switch t.kind {
	case kString:
		return true
	case kInt, kBool:
		return o == opEq || o == opNe
	case kList, kMap:
		return o == opIn || o == opNotIn || o == opEmpty || o == opNotEmpty
	case kStructs:
		return o == opEmpty || o == opNotEmpty
	}
	return false
}

// resolve finds the type a selector names, or says which selectors exist.
func (t *ftype) resolve(path []string) (*ftype, error) {
	cur := t
	for i, part := range path {
		sel := strings.Join(path[:i+1], ".")
		switch cur.kind {
		case kStruct, kStructs:
			f, ok := cur.fields[part]
			if !ok {
				prefix := strings.Join(path[:i], ".")
				return nil, fmt.Errorf("unknown selector %q; valid here: %s", sel, strings.Join(cur.names(prefix), ", "))
			}
			cur = f
		case kMap:
			if i != len(path)-1 {
				return nil, fmt.Errorf("selector %q goes past a map value, which is a string", sel)
			}
			cur = &ftype{kind: kString}
		default:
			return nil, fmt.Errorf("selector %q: %s is %s and has no fields", sel, strings.Join(path[:i], "."), cur.kind)
		}
	}
	return cur, nil
}

func (t *ftype) names(prefix string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(t.fields)) {
		if prefix != "" {
			k = prefix + "." + k
		}
		out = append(out, k)
	}
	return out
}

// datum is one answer item as the filter sees it: field name to string,
// int, bool, []string, map[string]string, datum or []datum.
type datum map[string]any

// node is a compiled filter expression.
type node interface {
	eval(datum) bool
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ n node }

func (n andNode) eval(d datum) bool { return n.l.eval(d) && n.r.eval(d) }
func (n orNode) eval(d datum) bool  { return n.l.eval(d) || n.r.eval(d) }
func (n notNode) eval(d datum) bool { return !n.n.eval(d) }

// matchNode is one comparison, checked against the schema already.
type matchNode struct {
	path []string
	op   op
	val  string
	num  int
	b    bool
	re   *regexp.Regexp
}

func (m *matchNode) eval(d datum) bool { return m.walk(d, 0) }

// walk follows the selector. Through a list of objects any element may
// satisfy the match; a missing map key satisfies negative operators only.
func (m *matchNode) walk(v any, depth int) bool {
	if depth == len(m.path) {
		return m.test(v)
	}
	switch x := v.(type) {
	case datum:
		return m.walk(x[m.path[depth]], depth+1)
	case []datum:
		for _, e := range x {
			if m.walk(e, depth) {
				return true
			}
		}
		return false
	case map[string]string:
		s, ok := x[m.path[depth]]
		if !ok {
			return m.op.negative()
		}
		return m.walk(s, depth+1)
	}
	return false
}

func (m *matchNode) test(v any) bool {
	switch x := v.(type) {
	case string:
		return m.testString(x)
	case int:
		return (x == m.num) == (m.op == opEq)
	case bool:
		return (x == m.b) == (m.op == opEq)
	case []string:
		return m.testSet(len(x), slices.Contains(x, m.val))
	case map[string]string:
		_, ok := x[m.val]
		return m.testSet(len(x), ok)
	case []datum:
		return m.testSet(len(x), false)
	}
	return false
}

func (m *matchNode) testString(s string) bool {
	switch m.op {
	case opEq:
		return s == m.val
	case opNe:
		return s != m.val
	case opIn:
		return strings.Contains(s, m.val)
	case opNotIn:
		return !strings.Contains(s, m.val)
	case opMatches:
		return m.re.MatchString(s)
	case opNotMatches:
		return !m.re.MatchString(s)
	case opEmpty:
		return s == ""
	}
	return s != ""
}

func (m *matchNode) testSet(n int, has bool) bool {
	switch m.op {
	case opIn:
		return has
	case opNotIn:
		return !has
	case opEmpty:
		return n == 0
	}
	return n > 0
}

// keep reports whether d passes the filter; a nil filter keeps everything.
func keep(f node, d func() datum) bool {
	return f == nil || f.eval(d())
}

var (
	_ node = andNode{}
	_ node = orNode{}
	_ node = notNode{}
	_ node = (*matchNode)(nil)
)
