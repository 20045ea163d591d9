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
	// Tag is the tag DNS is asked for ("" for none), TagOptions offer
	// the service's tags; Panic says the service is in panic mode, and
	// InDNS counts the instances DNS answers with.
	Tag        string
	TagOptions []uiOption
	Panic      bool
	InDNS      int
}

// uiInstanceRow is one instance in a service's list.
type uiInstanceRow struct {
	ID, Link, Addr, Health, Since string
	Tags                          []string
	Maintenance                   string // the reason, when in maintenance
	InMaintenance                 bool
	Checks                        []uiStatus
	DNS                           uiExplain
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
	p.Tag = r.URL.Query().Get("tag")
	p.TagOptions = append(p.TagOptions, uiOption{"", "any tag", p.Tag == ""})
	for _, t := range svc.Tags {
		p.TagOptions = append(p.TagOptions, uiOption{t, "tag " + t, t == p.Tag})
	}
	now := a.cfg.Now()
	// Explain lists the instances in svc's order, so the i-th explains
	// the i-th.
	x := a.cfg.Policy.Explain(svc, p.Tag, now)
	p.Panic = x.Panic
	for i, in := range svc.Instances {
		p.Counts.add(in.Health)
		if x.Instances[i].InDNS {
			p.InDNS++
		}
		if health != "" && string(in.Health) != health {
			continue
		}
		p.Matching++
		if len(p.Instances) < uiInstanceLimit {
			row := p.instanceRow(in, now)
			row.DNS = uiExplainOf(x.Instances[i])
			p.Instances = append(p.Instances, row)
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
