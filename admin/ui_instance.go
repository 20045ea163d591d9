package admin

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// uiInstancePage is GET /ui/instances/:id.
type uiInstancePage struct {
	uiFrame
	ID, Service, ServiceLink string
	Addr, Health, Since      string
	Tags                     []string
	Meta                     []uiPair
	Weights                  store.Weights
	InMaintenance            bool
	Maintenance              string // the reason
	MaintenanceSince         string
	Checks                   []uiCheck
	CreateIndex, ModifyIndex uint64
	// NoAddress says the registration gave none and DNS answers with
	// the advertise address.
	NoAddress bool
	// DNS is what DNS does with the instance now, and Panic whether
	// its service is in panic mode.
	DNS   uiExplain
	Panic bool
	// History is the instance's health transitions, newest first;
	// HistoryErr says why it could not be read.
	History    []uiTransition
	HistoryErr string
	// Gone says the instance is no longer registered: only its history
	// is left to show.
	Gone bool
}

// uiExplain is explain's answer for one instance.
type uiExplain struct {
	InDNS   bool
	TTL     int64
	Reasons []string
	TTLCaps []string
}

// uiTransition is one line of an instance's history.
type uiTransition struct {
	At, Ago, From, To, CheckID, Output string
}

// uiPair is one key and value, in key order.
type uiPair struct{ Key, Value string }

// uiCheck is a check with its definition, as an instance's page shows it.
type uiCheck struct {
	uiStatus
	Notes string
	// Definition lists what the check does, one line per parameter.
	Definition []uiPair
}

// uiInstance is GET /ui/instances/:id.
func (a *API) uiInstance(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	snap := a.st.Snapshot()
	in := snap.Instance(id)
	now := a.cfg.Now()
	if in == nil {
		return a.uiGone(w, r, snap, id, now)
	}
	p := uiInstancePage{uiFrame: a.frame(r, snap, in.ID), ID: in.ID, Service: in.Name,
		Addr: hostPort(in), Health: string(in.Health), Tags: in.Tags, Weights: in.Weights,
		CreateIndex: in.CreateIndex, ModifyIndex: in.ModifyIndex}
	p.ServiceLink = p.serviceLink(in.Name)
	for _, k := range slices.Sorted(maps.Keys(in.Meta)) {
		p.Meta = append(p.Meta, uiPair{k, in.Meta[k]})
	}
	for _, c := range in.Checks {
		if c.Kind == store.KindMaintenance {
			p.InMaintenance, p.Maintenance = true, c.Notes
			p.MaintenanceSince = stamp(c.StatusSince) + " (" + ago(now, c.StatusSince) + ")"
			continue
		}
		if c.Status == in.Health && p.Since == "" {
			p.Since = ago(now, c.StatusSince)
		}
		p.Checks = append(p.Checks, uiCheckOf(c, now))
	}
	p.NoAddress = in.NoAddress
	svc := snap.Service(in.Name)
	x := a.cfg.Policy.Explain(svc, "", now)
	p.Panic = x.Panic
	for _, ix := range x.Instances {
		if ix.ID == in.ID {
			p.DNS = uiExplainOf(ix)
		}
	}
	trs, err := a.st.History(in.ID)
	if err != nil {
		p.HistoryErr = err.Error()
	}
	p.History = uiHistory(trs, now)
	return renderUI(w, "ui_instance.html", p)
}

// uiGone is the page of an instance no longer registered: its history
// says why it went, for as long as the store keeps it. An ID with
// neither is a 404.
func (a *API) uiGone(w http.ResponseWriter, r *http.Request, snap *store.Snapshot, id string, now time.Time) error {
	trs, err := a.transitions(id)
	if err != nil {
		return err
	}
	p := uiInstancePage{uiFrame: a.frame(r, snap, id), ID: id, Gone: true, History: uiHistory(trs, now)}
	return renderUI(w, "ui_instance.html", p)
}

func uiHistory(trs []store.Transition, now time.Time) []uiTransition {
	out := make([]uiTransition, 0, len(trs))
	for _, t := range trs {
		out = append(out, uiTransition{At: stamp(t.Time), Ago: ago(now, t.Time), From: string(t.From),
			To: string(t.To), CheckID: t.CheckID, Output: clip(t.Output, uiOutputLen)})
	}
	return out
}

func uiExplainOf(x store.InstanceExplanation) uiExplain {
	return uiExplain{InDNS: x.InDNS, TTL: int64(x.TTL / time.Second), Reasons: x.Reasons, TTLCaps: x.TTLCaps}
}

// uiCheckOf describes a check. Header values are left out: they often
// carry credentials, and the page is meant to be shown around.
func uiCheckOf(c *store.Check, now time.Time) uiCheck {
	u := uiCheck{uiStatus: uiStatus{ID: c.ID, Name: c.Name, Kind: string(c.Kind), Status: string(c.Status),
		Since: stamp(c.StatusSince) + " (" + ago(now, c.StatusSince) + ")", Output: c.Output}, Notes: c.Notes}
	def := func(k, v string) { u.Definition = append(u.Definition, uiPair{k, v}) }
	switch c.Kind {
	case store.KindHTTP:
		def("HTTP", strings.TrimSpace(c.Method+" "+c.HTTP))
		if len(c.Header) > 0 {
			def("headers", strings.Join(slices.Sorted(maps.Keys(c.Header)), ", ")+" (values hidden)")
		}
		if c.Body != "" {
			def("body", strconv.Itoa(len(c.Body))+" bytes")
		}
		if c.TLSSkipVerify {
			def("TLS", "certificate not verified")
		}
	case store.KindTCP:
		def("TCP", c.TCP)
	case store.KindTTL:
		def("TTL", c.TTL.String())
		if !c.Heartbeat.IsZero() {
			def("last report", stamp(c.Heartbeat)+" ("+ago(now, c.Heartbeat)+")")
			def("critical at", stamp(c.TTLDeadline())+" without a report")
		}
	}
	if c.Kind == store.KindHTTP || c.Kind == store.KindTCP {
		def("interval", c.Interval.String())
		def("timeout", c.Timeout.String())
	}
	if c.SuccessBeforePassing > 0 {
		def("passing after", strconv.Itoa(c.SuccessBeforePassing)+" successes")
	}
	if c.FailuresBeforeCritical > 0 {
		def("critical after", strconv.Itoa(c.FailuresBeforeCritical)+" failures")
	}
	if c.DeregisterCriticalServiceAfter > 0 {
		def("deregistered after", c.DeregisterCriticalServiceAfter.String()+" critical")
	}
	return u
}
