package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// uiInstanceLimit bounds the instances one service page lists: a page
// of 50,000 rows helps nobody, the health filter finds the few that
// matter.
const uiInstanceLimit = 500

// uiServicePage is GET /ui/services/:name.
type uiServicePage struct {
	uiFrame
	Name   string
	Tags   []string
	Counts uiCounts
	// Health filters the instances listed; HealthOptions offer it.
	Health        string
	HealthOptions []uiOption
	Instances     []uiInstanceRow
	// Shown of Matching instances are listed, Matching of Counts.Total
	// pass the filter.
	Shown, Matching int
	Search          string
	Token           string
}

// uiInstanceRow is one instance in a service's list.
type uiInstanceRow struct {
	ID, Link, Addr, Health, Since string
	Tags                          []string
	Maintenance                   string // the reason, when in maintenance
	InMaintenance                 bool
	Checks                        []uiStatus
}

// uiInstanceFilters are the choices of the service page's health filter.
var uiInstanceFilters = []uiOption{
	{"", "every instance", false},
	{"passing", "passing", false},
	{"warning", "warning", false},
	{"critical", "critical", false},
}

// uiService is GET /ui/services/:name.
func (a *API) uiService(w http.ResponseWriter, r *http.Request) error {
	name := strings.ToLower(r.PathValue("name"))
	snap := a.st.Snapshot()
	svc := snap.Service(name)
	if svc == nil {
		return errorf(http.StatusNotFound, "no service named %s is registered", quote(name))
	}
	health := r.URL.Query().Get("health")
	if health != "" && !store.Status(health).Valid() {
		return badRequest("health %s is not a health filter; use passing, warning or critical, or leave it out", quote(health))
	}
	p := uiServicePage{uiFrame: a.frame(r, snap, svc.Name), Name: svc.Name, Tags: svc.Tags, Health: health}
	p.Search = "/ui/services/" + svc.Name
	p.Token = p.token
	for _, o := range uiInstanceFilters {
		o.Selected = o.Value == health
		p.HealthOptions = append(p.HealthOptions, o)
	}
	now := a.cfg.Now()
	for _, in := range svc.Instances {
		p.Counts.add(in.Health)
		if health != "" && string(in.Health) != health {
			continue
		}
		p.Matching++
		if len(p.Instances) < uiInstanceLimit {
			p.Instances = append(p.Instances, p.instanceRow(in, now))
		}
	}
	p.Shown = len(p.Instances)
	return renderUI(w, "ui_service.html", p)
}

func (f *uiFrame) instanceRow(in *store.Instance, now time.Time) uiInstanceRow {
	row := uiInstanceRow{ID: in.ID, Link: f.instanceLink(in.ID), Addr: hostPort(in),
		Health: string(in.Health), Tags: in.Tags}
	for _, c := range in.Checks {
		if c.Kind == store.KindMaintenance {
			row.InMaintenance, row.Maintenance = true, c.Notes
			continue
		}
		if c.Status == in.Health && row.Since == "" {
			row.Since = ago(now, c.StatusSince)
		}
		row.Checks = append(row.Checks, uiStatus{ID: c.ID, Kind: string(c.Kind), Status: string(c.Status),
			Output: clip(c.Output, uiOutputLen)})
	}
	return row
}
