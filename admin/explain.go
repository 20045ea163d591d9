package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/store"
)

// explainJSON is the answer of GET /v1/beacon/explain/:name.
type explainJSON struct {
	Service   string
	Tag       string `json:",omitempty"`
	Instances []instanceExplainJSON
	Panic     bool
}

// instanceExplainJSON is one instance of it. TTL is in whole seconds, as
// DNS records carry it; 0 when the instance is not in DNS.
type instanceExplainJSON struct {
	ID      string
	InDNS   bool
	Reasons []string
	TTL     int64
	TTLCaps []string
}

// explainService is GET /v1/beacon/explain/:name[?tag=T]: for every
// instance of the service, whether DNS answers with it now, why not, and
// what caps its TTL. It asks the policy DNS answers with, so the two
// cannot disagree.
func (a *API) explainService(w http.ResponseWriter, r *http.Request) error {
	name := strings.ToLower(r.PathValue("name"))
	svc := a.st.Snapshot().Service(name)
	if svc == nil {
		return errorf(http.StatusNotFound, "no service named %s is registered", quote(name))
	}
	return writeJSON(w, r, explainOf(a.cfg.Policy.Explain(svc, r.URL.Query().Get("tag"), a.cfg.Now()), r.URL.Query().Get("tag")))
}

func explainOf(x store.Explanation, tag string) explainJSON {
	out := explainJSON{Service: x.Service, Tag: tag, Panic: x.Panic, Instances: make([]instanceExplainJSON, len(x.Instances))}
	for i, in := range x.Instances {
		out.Instances[i] = instanceExplainJSON{ID: in.ID, InDNS: in.InDNS, Reasons: nonNil(in.Reasons),
			TTL: int64(in.TTL / time.Second), TTLCaps: nonNil(in.TTLCaps)}
	}
	return out
}

// nonNil makes an empty list [] in JSON rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
