package admin

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// This file compiles ?filter=, the subset of Consul's filter language
// (github.com/hashicorp/go-bexpr) that beacon honours:
//
//	Selector == "value"          Selector != "value"
//	Selector is empty            Selector is not empty
//	Selector contains "value"    Selector not contains "value"
//	"value" in Selector          "value" not in Selector
//	Selector matches "regexp"    Selector not matches "regexp"
//	expr and expr, expr or expr, not expr, ( expr )
//
// Values are "double-quoted", `backquoted` or bare words. Selectors are
// dotted field names (Service.Tags, ServiceMeta.version) and a map key may
// also be given as ServiceMeta["some.key"]. As in go-bexpr, a selector
// through a list (Checks.Status) holds when any element satisfies the
// match, and a missing map key satisfies only the negative operators.
// Anything else, including unknown selectors, is refused with 400, never
// silently ignored.

type op uint8

const (
	opEq op = iota
	opNe
	opEmpty
	opNotEmpty
	opIn // "contains" and "in" are the same test
	opNotIn
	opMatches
	opNotMatches
)

// negative reports the operators a missing map key satisfies.
func (o op) negative() bool {
	return o == opNe || o == opEmpty || o == opNotIn || o == opNotMatches
}

// parser turns tokens into a tree of nodes, checking selectors against
// the schema of the endpoint's answers.
type parser struct {
	toks   []token
	i      int
	schema *ftype
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tokWord && t.text == w
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return fmt.Errorf("%s at position %d", fmt.Sprintf(format, args...), t.pos)
}

func (p *parser) parseOr() (node, error) {
	return p.parseJoin("or", p.parseAnd, func(l, r node) node { return orNode{l, r} })
}

func (p *parser) parseAnd() (node, error) {
	return p.parseJoin("and", p.parseUnary, func(l, r node) node { return andNode{l, r} })
}

// parseJoin reads operands joined by word, left to right.
func (p *parser) parseJoin(word string, operand func() (node, error), join func(l, r node) node) (node, error) {
	left, err := operand()
	for err == nil && p.isWord(word) {
		p.next()
		var right node
		if right, err = operand(); err == nil {
			left = join(left, right)
		}
	}
	return left, err
}

func (p *parser) parseUnary() (node, error) {
	if p.isWord("not") {
		p.next()
		n, err := p.parseUnary()
		return notNode{n}, err
	}
	if p.peek().kind == tokLParen {
		p.next()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tokRParen {
			return nil, p.errAt(t, "expected ) but found %q", t.text)
		}
		return n, nil
	}
	return p.parseMatch()
}

// parseMatch reads one comparison, in either of its forms: value first
// ("x" in Sel) or selector first (Sel == "x", Sel is empty, ...).
func (p *parser) parseMatch() (node, error) {
	first := p.next()
	if first.kind != tokString && first.kind != tokWord {
		return nil, p.errAt(first, "expected a selector or a value but found %q", first.text)
	}
	if p.isWord("in") || (p.isWord("not") && p.toks[p.i+1].kind == tokWord && p.toks[p.i+1].text == "in") {
		o := opIn
		if p.next().text == "not" {
			p.next()
			o = opNotIn
		}
		sel := p.next()
		if sel.kind != tokWord {
			return nil, p.errAt(sel, "expected a selector after in but found %q", sel.text)
		}
		return p.compile(sel, p.selectorPath(sel), o, first.text)
	}
	if first.kind != tokWord {
		return nil, p.errAt(first, "a quoted value must be followed by in or not in")
	}
	path := p.selectorPath(first)
	o, needValue, err := p.parseOp()
	if err != nil {
		return nil, err
	}
	val := ""
	if needValue {
		v := p.next()
		if v.kind != tokString && v.kind != tokWord {
			return nil, p.errAt(v, "expected a value but found %q", v.text)
		}
		val = v.text
	}
	return p.compile(first, path, o, val)
}

// selectorPath splits a dotted selector and adds any ["key"] that follow.
func (p *parser) selectorPath(t token) []string {
	path := strings.Split(t.text, ".")
	for p.peek().kind == tokLBrack && p.toks[p.i+1].kind == tokString && p.toks[p.i+2].kind == tokRBrack {
		path = append(path, p.toks[p.i+1].text)
		p.i += 3
	}
	return path
}

func (p *parser) parseOp() (op, bool, error) {
	t := p.next()
	switch {
	case t.kind == tokEq:
		return opEq, true, nil
	case t.kind == tokNe:
		return opNe, true, nil
	case t.kind == tokWord && t.text == "is":
		o := opEmpty
		if p.isWord("not") {
			p.next()
			o = opNotEmpty
		}
		if e := p.next(); e.kind != tokWord || e.text != "empty" {
			return 0, false, p.errAt(e, "expected empty after is but found %q", e.text)
		}
		return o, false, nil
	case t.kind == tokWord && (t.text == "contains" || t.text == "matches"):
		return map[string]op{"contains": opIn, "matches": opMatches}[t.text], true, nil
	case t.kind == tokWord && t.text == "not":
		n := p.next()
		switch n.text {
		case "contains":
			return opNotIn, true, nil
		case "matches":
			return opNotMatches, true, nil
		}
		return 0, false, p.errAt(n, "expected contains or matches after not but found %q", n.text)
	}
	return 0, false, p.errAt(t, "expected ==, !=, is empty, is not empty, contains, matches or in but found %q", t.text)
}

// compileFilter compiles expr against the schema of the answers it will
// filter. An empty expression is nil: it keeps everything.
func compileFilter(expr string, schema *ftype) (node, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	if len(expr) > maxFilterLen {
		return nil, badRequest("filter: is %d bytes long; at most %d are allowed", len(expr), maxFilterLen)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, badRequest("filter: %s", err)
	}
	p := &parser{toks: toks, schema: schema}
	n, err := p.parseOr()
	if err == nil && p.peek().kind != tokEOF {
		err = p.errAt(p.peek(), "unexpected %q; join comparisons with and, or", p.peek().text)
	}
	if err != nil {
		return nil, badRequest("filter: %s", err)
	}
	return n, nil
}

// compile checks a comparison against the schema and prepares its value.
func (p *parser) compile(at token, path []string, o op, val string) (node, error) {
	leaf, err := p.schema.resolve(path)
	if err != nil {
		return nil, p.errAt(at, "%s", err)
	}
	sel := strings.Join(path, ".")
	if !leaf.allows(o) {
		return nil, p.errAt(at, "%s is %s; %s", sel, leaf.kind, leaf.kind.ops())
	}
	m := &matchNode{path: path, op: o, val: val}
	switch leaf.kind {
	case kInt:
		if m.num, err = strconv.Atoi(val); err != nil {
			return nil, p.errAt(at, "%s is a number; %q is not one", sel, val)
		}
	case kBool:
		if m.b, err = strconv.ParseBool(val); err != nil {
			return nil, p.errAt(at, "%s is true or false; %q is neither", sel, val)
		}
	}
	if o == opMatches || o == opNotMatches {
		if m.re, err = regexp.Compile(val); err != nil {
			return nil, p.errAt(at, "%q is not a valid regular expression", val)
		}
	}
	return m, nil
}
