package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// tokenCheck admits requests that present the configured token.
type tokenCheck struct {
	// sum is the SHA-256 of the token. Comparing fixed-size digests in
	// constant time hides the token's length as well as its content.
	sum [sha256.Size]byte
	on  bool
}

func newTokenCheck(token string) *tokenCheck {
	if token == "" {
		return &tokenCheck{}
	}
	return &tokenCheck{sum: sha256.Sum256([]byte(token)), on: true}
}

// howToSend ends both refusals below.
const howToSend = "send beacon's token as the X-Consul-Token header, Authorization: Bearer, the HTTP Basic password or ?token="

// errNoToken and errBadToken answer a missing and a wrong token as Consul
// does, with the phrases its clients look for: an anonymous request is
// "Permission denied", an unknown token "ACL not found". Neither echoes
// what was sent.
var (
	errNoToken  = errorf(http.StatusForbidden, "Permission denied: no token was sent; %s", howToSend)
	errBadToken = errorf(http.StatusForbidden, "ACL not found: the token sent is not beacon's; %s", howToSend)
)

// check accepts the request when any place a client may put the token
// holds it: X-Consul-Token, Authorization: Bearer (or a bare
// Authorization value), the Basic password (Prometheus' Consul discovery
// sends Basic auth alongside X-Consul-Token) or ?token=.
func (t *tokenCheck) check(r *http.Request) error {
	if !t.on {
		return nil
	}
	ok, sent := 0, false
	for _, c := range candidates(r) {
		sum := sha256.Sum256([]byte(c))
		ok |= subtle.ConstantTimeCompare(sum[:], t.sum[:])
		sent = sent || c != ""
	}
	switch {
	case ok == 1:
		return nil
	case sent:
		return errBadToken
	}
	return errNoToken
}

// candidates lists every token the request presents.
func candidates(r *http.Request) []string {
	out := append([]string(nil), r.Header.Values("X-Consul-Token")...)
	for _, v := range r.Header.Values("Authorization") {
		scheme, cred, found := strings.Cut(v, " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			out = append(out, strings.TrimSpace(cred))
		case !found:
			// A bare credential: some Prometheus builds send
			// "Authorization: <token>" when the type is left out.
			out = append(out, v)
		}
	}
	if _, pass, ok := r.BasicAuth(); ok {
		out = append(out, pass)
	}
	out = append(out, r.URL.Query()["token"]...)
	return out
}
