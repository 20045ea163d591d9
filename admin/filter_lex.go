package admin

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// The lexer of ?filter= (see filter.go): words, quoted strings, brackets
// and the two comparison operators.

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
	tokEq
	tokNe
)

type token struct {
	kind tokKind
	text string
	pos  int
}

// maxFilterLen bounds a filter expression; real ones are a line long.
const maxFilterLen = 4096

func lex(src string) ([]token, error) {
	var out []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '[' || c == ']':
			out = append(out, token{kind: map[byte]tokKind{'(': tokLParen, ')': tokRParen, '[': tokLBrack, ']': tokRBrack}[c], text: string(c), pos: i})
			i++
		case strings.HasPrefix(src[i:], "=="):
			out = append(out, token{kind: tokEq, text: "==", pos: i})
			i += 2
		case strings.HasPrefix(src[i:], "!="):
			out = append(out, token{kind: tokNe, text: "!=", pos: i})
			i += 2
		case c == '"' || c == '`':
			s, n, err := lexString(src[i:])
			if err != nil {
				return nil, fmt.Errorf("%s at position %d", err, i)
			}
			out = append(out, token{kind: tokString, text: s, pos: i})
			i += n
		default:
			j := i
			for j < len(src) && isWordByte(src[j]) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected %q at position %d", src[i], i)
			}
			out = append(out, token{kind: tokWord, text: src[i:j], pos: i})
			i = j
		}
	}
	return append(out, token{kind: tokEOF, pos: len(src)}), nil
}

func isWordByte(c byte) bool {
	return c >= 0x80 || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || strings.IndexByte("_-.:/@+*", c) >= 0
}

// lexString reads a quoted string at the start of s and returns it and
// the bytes it took.
func lexString(s string) (string, int, error) {
	if s[0] == '`' {
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return "", 0, fmt.Errorf("unterminated `string`")
		}
		return s[1 : end+1], end + 2, nil
	}
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			v, err := strconv.Unquote(s[:j+1])
			if err != nil {
				return "", 0, fmt.Errorf("bad escape in string %s", s[:j+1])
			}
			return v, j + 1, nil
		}
	}
	return "", 0, fmt.Errorf("unterminated \"string\"")
}
