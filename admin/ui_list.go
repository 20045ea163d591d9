package admin

import (
	"net/http"
	"strings"

	"github.com/beacon-dns/beacon/store"
)

// uiListPage is GET /ui/: every service with its counts, the search, and
// the recent changes.
type uiListPage struct {
	uiFrame
	// Q and Health are the search as asked: Q matches a part of a
	// service's name or of one of its tags, Health keeps the services
	// with an instance in that state.
	Q, Health     string
	HealthOptions []uiOption
	// Counts are the whole registry's instances; Shown and Total count
	// the services listed and registered.
	Counts       uiCounts
	Shown, Total int
	Services     []uiServiceRow
	Changes      []uiChange
	// Search is the form's target, carrying the token on.
	Search string
	Token  string
}

// uiOption is one choice of a select.
type uiOption struct {
	Value, Label string
	Selected     bool
}

// uiServiceRow is one line of the services list. Data holds what the
// script filters on, in the form the server's search uses.
type uiServiceRow struct {
	Name, Link string
	Tags       []string
	Counts     uiCounts
	DataTags   string // lower-case tags, space-separated
	DataHealth string // the states of its instances, and panic, space-separated
	Panic      bool
}

type uiChange struct {
	At    string
	Index uint64
	ID    string
	Link  string
	What  string
}

// uiHealthFilters are the choices of the list's health filter.
var uiHealthFilters = []uiOption{
	{"", "any health", false},
	{"passing", "with a passing instance", false},
	{"warning", "with a warning instance", false},
	{"critical", "with a critical instance", false},
	{"panic", "in panic mode", false},
}

// ui is GET /ui/. It refreshes itself every 10 seconds.
func (a *API) ui(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Path != "/ui/" {
		return errorf(http.StatusNotFound, "no such page: %s; the pages are /ui/, /ui/services/NAME and /ui/instances/ID", r.URL.Path)
	}
	q := r.URL.Query()
	search := uiSearch{text: strings.ToLower(strings.TrimSpace(q.Get("q"))), health: q.Get("health")}
	if !validHealthFilter(search.health) {
		return badRequest("health %s is not a health filter; use passing, warning, critical or panic, or leave it out", quote(search.health))
	}
	return renderUI(w, "ui_list.html", a.uiList(r, search))
}

func validHealthFilter(h string) bool {
	for _, o := range uiHealthFilters {
		if o.Value == h {
			return true
		}
	}
	return false
}

// uiSearch is the list's search: a part of a name or tag, and a state.
type uiSearch struct {
	text, health string
}

// match reports whether the search keeps row. The page's script applies
// the same rule as one types.
func (s uiSearch) match(row *uiServiceRow) bool {
	if s.health != "" && !strings.Contains(" "+row.DataHealth+" ", " "+s.health+" ") {
		return false
	}
	if s.text == "" || strings.Contains(row.Name, s.text) {
		return true
	}
	for _, t := range strings.Fields(row.DataTags) {
		if strings.Contains(t, s.text) {
			return true
		}
	}
	return false
}

func (a *API) uiList(r *http.Request, search uiSearch) uiListPage {
	snap := a.st.Snapshot()
	p := uiListPage{uiFrame: a.frame(r, snap, "services"), Q: strings.TrimSpace(r.URL.Query().Get("q")), Health: search.health}
	p.Script = uiScript
	p.Search = "/ui/"
	p.Token = p.token
	for _, o := range uiHealthFilters {
		o.Selected = o.Value == search.health
		p.HealthOptions = append(p.HealthOptions, o)
	}
	for _, svc := range snap.Services() {
		row := uiServiceRow{Name: svc.Name, Link: p.serviceLink(svc.Name), Tags: svc.Tags,
			DataTags: strings.ToLower(strings.Join(svc.Tags, " "))}
		for _, in := range svc.Instances {
			row.Counts.add(in.Health)
			p.Counts.add(in.Health)
		}
		row.DataHealth = statesOf(row.Counts)
		if row.Panic = a.cfg.Policy.InPanic(svc); row.Panic {
			row.DataHealth += " panic"
		}
		p.Total++
		if search.match(&row) {
			p.Services = append(p.Services, row)
		}
	}
	p.Shown = len(p.Services)
	for _, c := range a.recent.list() {
		ch := uiChange{At: stamp(c.At), Index: c.Index, ID: c.ID, What: c.What}
		if c.ID != "" && snap.Instance(c.ID) != nil {
			ch.Link = p.instanceLink(c.ID)
		}
		p.Changes = append(p.Changes, ch)
	}
	return p
}

// statesOf lists the states that occur among counts.
func statesOf(c uiCounts) string {
	var s []string
	for _, x := range []struct {
		n     int
		state store.Status
	}{{c.Passing, store.Passing}, {c.Warning, store.Warning}, {c.Critical, store.Critical}} {
		if x.n > 0 {
			s = append(s, string(x.state))
		}
	}
	return strings.Join(s, " ")
}
