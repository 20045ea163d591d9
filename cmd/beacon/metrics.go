package main

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// newRegistry is the one metrics registry of a beacon process: every
// package registers on it and /metrics serves it. It is not the default
// registry, so nothing registers behind our back.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(),
	)
	return reg
}

// buildInfo is beacon_build_info, always 1, whose labels say which beacon
// runs, as Prometheus' own <name>_build_info does.
func buildInfo() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "beacon", Name: "build_info",
		Help:        "Always 1; the labels name the version of beacon and of Go it was built with.",
		ConstLabels: prometheus.Labels{"version": buildVersion(), "goversion": runtime.Version()},
	}, func() float64 { return 1 })
}
