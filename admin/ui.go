package admin

import (
	"bytes"
	_ "embed"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/store"
)

//go:embed ui.html
var uiHTML string

// uiTemplate is parsed once; html/template escapes everything it prints.
var uiTemplate = template.Must(template.New("ui").Funcs(template.FuncMap{
	"join": func(s []string) string { return strings.Join(s, ", ") },
}).Parse(uiHTML))

// uiOutputLen bounds the check output shown per check.
const uiOutputLen = 512

type uiPage struct {
	Node, Datacenter, Now      string
	Index                      uint64
	Instances                  int
	Passing, Warning, Critical int
	Services                   []uiService
	Changes                    []uiChange
}

type uiService struct {
	Name                       string
	Tags                       []string
	Passing, Warning, Critical int
	Instances                  []uiInstance
}

type uiInstance struct {
	ID, Addr, Health string
	Tags             []string
	Meta             map[string]string
	Checks           []uiCheck
}

type uiCheck struct {
	ID, Kind, Status, Since, Output string
}

type uiChange struct {
	At    string
	Index uint64
	ID    string
	What  string
}

// ui is GET /ui/: a read-only status page of services, instances, their
// health and check output, and recent changes. It refreshes itself every
// 10 seconds and uses no JavaScript.
func (a *API) ui(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Path != "/ui/" {
		return errorf(http.StatusNotFound, "no such page: %s; the status page is /ui/", r.URL.Path)
	}
	var buf bytes.Buffer
	if err := uiTemplate.Execute(&buf, a.uiPage(a.st.Snapshot())); err != nil {
		return errorf(http.StatusInternalServerError, "rendering the status page: %s", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

func (a *API) uiPage(snap *store.Snapshot) uiPage {
	n := snap.Node()
	p := uiPage{Node: n.Name, Datacenter: a.cfg.Datacenter, Index: snap.Index(),
		Now: stamp(a.cfg.Now()), Instances: snap.InstanceCount()}
	for _, svc := range snap.Services() {
		s := uiService{Name: svc.Name, Tags: svc.Tags}
		for _, in := range svc.Instances {
			count(in.Health, &s.Passing, &s.Warning, &s.Critical)
			count(in.Health, &p.Passing, &p.Warning, &p.Critical)
			s.Instances = append(s.Instances, uiInstanceOf(in))
		}
		p.Services = append(p.Services, s)
	}
	for _, c := range a.recent.list() {
		p.Changes = append(p.Changes, uiChange{At: stamp(c.At), Index: c.Index, ID: c.ID, What: c.What})
	}
	return p
}

func uiInstanceOf(in *store.Instance) uiInstance {
	u := uiInstance{ID: in.ID, Addr: hostPort(in), Health: string(in.Health),
		Tags: slices.Clone(in.Tags), Meta: in.Meta}
	for _, c := range in.Checks {
		out := c.Output
		if len(out) > uiOutputLen {
			out = out[:uiOutputLen] + "…"
		}
		u.Checks = append(u.Checks, uiCheck{ID: c.ID, Kind: string(c.Kind),
			Status: string(c.Status), Since: stamp(c.StatusSince), Output: out})
	}
	return u
}

func count(h store.Status, passing, warning, critical *int) {
	switch h {
	case store.Passing:
		*passing++
	case store.Warning:
		*warning++
	default:
		*critical++
	}
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
