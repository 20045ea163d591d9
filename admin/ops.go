package admin

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthz is GET /healthz: 200 "ok" while the store is open and the DNS
// listeners serve, else 503 with the reason.
func (a *API) healthz(w http.ResponseWriter, r *http.Request) error {
	if err := a.st.Healthy(); err != nil {
		return errorf(http.StatusServiceUnavailable, "store: %s", err)
	}
	if a.cfg.Ready != nil {
		if err := a.cfg.Ready(); err != nil {
			return errorf(http.StatusServiceUnavailable, "not ready: %s", strings.TrimSpace(err.Error()))
		}
	}
	return writeText(w, "ok")
}

// serveMetrics is GET /metrics in the Prometheus text format.
func (a *API) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	promhttp.HandlerFor(a.cfg.Gatherer, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

// rootRedirect sends / to the status page, as Consul does.
func (a *API) rootRedirect(w http.ResponseWriter, r *http.Request) error {
	target := "/ui/"
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusMovedPermanently)
	return nil
}
