package admin

import (
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/beacon-dns/beacon/store"
)

// targetGroup is one group of Prometheus HTTP service discovery
// (http_sd_configs).
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// Labels of GET /v1/prometheus/targets. Prometheus keeps __meta_* labels
// for relabelling and drops them afterwards.
const (
	labelService = "__meta_beacon_service"
	labelHealth  = "__meta_beacon_health"
	labelTags    = "__meta_beacon_tags" // ",a,b," so a regexp need not care where a tag sits
	labelDC      = "__meta_beacon_dc"
	labelNode    = "__meta_beacon_node"
	labelMeta    = "__meta_beacon_service_meta_" // + the meta key, made a valid label name
)

// prometheusTargets is GET /v1/prometheus/targets. Instances of a service
// that share health, tags and meta share one group, so a service whose
// instances look alike is one group per health state, and every label
// stays exact for each target. Instances without a port (0) cannot be
// scraped and are left out. Groups are ordered by service, health
// (passing, warning, critical) and tags; targets by instance ID.
func (a *API) prometheusTargets(w http.ResponseWriter, r *http.Request) error {
	snap := a.st.Snapshot()
	node := snap.Node().Name
	out := []targetGroup{}
	for _, svc := range snap.Services() {
		var groups []*targetGroup
		byKey := map[string]*targetGroup{}
		for _, in := range svc.Instances {
			if in.Port == 0 {
				continue
			}
			labels := a.sdLabels(in, node)
			key := labelKey(labels)
			g := byKey[key]
			if g == nil {
				g = &targetGroup{Labels: labels}
				byKey[key] = g
				groups = append(groups, g)
			}
			g.Targets = append(g.Targets, net.JoinHostPort(in.Address, strconv.Itoa(in.Port)))
		}
		slices.SortStableFunc(groups, func(x, y *targetGroup) int {
			if d := store.Status(x.Labels[labelHealth]).Rank() - store.Status(y.Labels[labelHealth]).Rank(); d != 0 {
				return d
			}
			return strings.Compare(x.Labels[labelTags], y.Labels[labelTags])
		})
		for _, g := range groups {
			out = append(out, *g)
		}
	}
	return writeJSON(w, r, out)
}

func (a *API) sdLabels(in *store.Instance, node string) map[string]string {
	tags := slices.Clone(in.Tags)
	slices.Sort(tags)
	labels := map[string]string{
		labelService: in.Name,
		labelHealth:  string(in.Health),
		labelTags:    "," + strings.Join(tags, ",") + ",",
		labelDC:      a.cfg.Datacenter,
		labelNode:    node,
	}
	for k, v := range in.Meta {
		labels[labelMeta+labelName(k)] = v
	}
	return labels
}

// labelName makes a meta key a valid Prometheus label name, as Prometheus
// does with Consul's meta (strutil.SanitizeLabelName).
func labelName(k string) string {
	b := []byte(k)
	for i, c := range b {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// labelKey is a canonical form of a label set, to group equal ones.
func labelKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(strconv.Quote(k) + "=" + strconv.Quote(labels[k]) + ";")
	}
	return b.String()
}
