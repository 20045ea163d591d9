package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beacon-dns/beacon/store"
)

// The operators' pages under /ui/: the services list with its search
// (ui_list.go), a page per service (ui_service.go) and per instance
// (ui_instance.go). They are read-only, escape everything through
// html/template, and work without JavaScript; the one script, inline and
// allowed by its hash alone, filters the list as one types.

//go:embed ui_layout.html ui_list.html ui_service.html ui_instance.html ui_search.js
var uiFiles embed.FS

// uiScript filters the services list as one types; uiScriptHash is the
// Content-Security-Policy source that allows it and nothing else.
var uiScript, uiScriptHash = func() (template.JS, string) {
	b, err := uiFiles.ReadFile("ui_search.js")
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return template.JS(b), "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// uiCSP lets the pages use their inline styles and the inline search
// script, and load nothing from anywhere.
var uiCSP = "default-src 'none'; style-src 'unsafe-inline'; script-src " + uiScriptHash +
	"; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// uiFuncs are the helpers the page templates share.
var uiFuncs = template.FuncMap{
	"join": func(s []string) string { return strings.Join(s, ", ") },
}

// uiPages are the page templates, each the layout with its own content.
var uiPages = func() map[string]*template.Template {
	layout := template.Must(template.New("ui_layout.html").Funcs(uiFuncs).ParseFS(uiFiles, "ui_layout.html"))
	pages := map[string]*template.Template{}
	for _, name := range []string{"ui_list.html", "ui_service.html", "ui_instance.html"} {
		pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(uiFiles, name))
	}
	return pages
}()

// uiOutputLen bounds the check output shown per check in lists; an
// instance's own page shows all of it (at most 4 KiB from a check).
const uiOutputLen = 512

// uiFrame is what the layout shows around every page.
type uiFrame struct {
	Title      string
	Node       string
	Datacenter string
	Index      uint64
	Now        string
	// Refresh reloads the page every that many seconds without
	// JavaScript; the list page's script does it itself.
	Refresh int
	// Script is the inline script, on the pages that use it.
	Script template.JS
	// Home links back to the list, keeping ?token=.
	Home string
	// token is the ?token= the page was opened with: links carry it on,
	// so a browser can follow them when the API needs a token.
	token string
}

// frame starts a page's frame from the request and snapshot.
func (a *API) frame(r *http.Request, snap *store.Snapshot, title string) uiFrame {
	f := uiFrame{Title: title, Node: snap.Node().Name, Datacenter: a.cfg.Datacenter,
		Index: snap.Index(), Now: stamp(a.cfg.Now()), Refresh: 10, token: r.URL.Query().Get("token")}
	f.Home = f.link("/ui/", nil)
	return f
}

// link is the URL of a page with its query, carrying the token on.
func (f *uiFrame) link(path string, q url.Values) string {
	if f.token != "" {
		if q == nil {
			q = url.Values{}
		}
		q.Set("token", f.token)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// serviceLink and instanceLink are the URLs of the two detail pages.
func (f *uiFrame) serviceLink(name string) string {
	return f.link("/ui/services/"+url.PathEscape(name), nil)
}

func (f *uiFrame) instanceLink(id string) string {
	return f.link("/ui/instances/"+url.PathEscape(id), nil)
}

// renderUI answers with one page: text/html, the policy above, and
// nosniff.
func renderUI(w http.ResponseWriter, page string, data any) error {
	var buf bytes.Buffer
	if err := uiPages[page].Execute(&buf, data); err != nil {
		return errorf(http.StatusInternalServerError, "rendering the page: %s", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// uiStatus is an instance's or check's status as the pages show it.
type uiStatus struct {
	ID, Name, Kind, Status, Since, Output string
}

// uiCounts are the instances of a service or of the registry by health.
type uiCounts struct {
	Total, Passing, Warning, Critical int
}

func (c *uiCounts) add(h store.Status) {
	c.Total++
	switch h {
	case store.Passing:
		c.Passing++
	case store.Warning:
		c.Warning++
	default:
		c.Critical++
	}
}

// clip shortens s to n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func hostPort(in *store.Instance) string {
	return net.JoinHostPort(in.Address, strconv.Itoa(in.Port))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago says how long ago t was, in the largest whole unit, for "since".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return strconv.Itoa(max(int(d/time.Second), 0)) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d ago"
}
