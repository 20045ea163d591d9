package main

import (
	"strings"

	"github.com/beacon-dns/beacon/store"
)

// The Consul-shaped JSON the CLI sends and reads; only the fields it uses.

// registration is the body of PUT /v1/agent/service/register.
type registration struct {
	ID      string            `json:"ID,omitempty"`
	Name    string            `json:"Name"`
	Address string            `json:"Address,omitempty"`
	Port    int               `json:"Port,omitempty"`
	Tags    []string          `json:"Tags,omitempty"`
	Meta    map[string]string `json:"Meta,omitempty"`
	Check   *checkDef         `json:"Check,omitempty"`
}

// checkDef is a check in a registration; durations in Go syntax.
type checkDef struct {
	HTTP                           string `json:"HTTP,omitempty"`
	TCP                            string `json:"TCP,omitempty"`
	TTL                            string `json:"TTL,omitempty"`
	Interval                       string `json:"Interval,omitempty"`
	Timeout                        string `json:"Timeout,omitempty"`
	DeregisterCriticalServiceAfter string `json:"DeregisterCriticalServiceAfter,omitempty"`
}

// serviceEntry is one element of GET /v1/health/service/:name.
type serviceEntry struct {
	Node struct {
		Node    string
		Address string
	}
	Service struct {
		ID      string
		Service string
		Tags    []string
		Address string
		Port    int
		Meta    map[string]string
	}
	Checks []healthCheck
}

// healthCheck is a check as the health endpoints show it.
type healthCheck struct {
	CheckID   string
	Name      string
	Status    string
	Output    string
	Notes     string `json:",omitempty"`
	ServiceID string
}

// detail is what a table shows of the check: its output, or its notes
// when it has none (maintenance mode keeps its reason there).
func (c *healthCheck) detail() string {
	if c.Output != "" {
		return c.Output
	}
	return c.Notes
}

// maintenance reports whether this is the check of maintenance mode,
// whose ID beacon and Consul both start with this prefix.
func (c *healthCheck) maintenance() bool {
	return strings.HasPrefix(c.CheckID, store.MaintenanceCheckPrefix)
}

// health is the worst status of the entry's checks: passing with none.
func (e *serviceEntry) health() (status string, worst *healthCheck) {
	status = "passing"
	for i := range e.Checks {
		c := &e.Checks[i]
		if worst == nil || store.Status(c.Status).Rank() > store.Status(worst.Status).Rank() {
			worst = c
		}
	}
	if worst != nil {
		status = worst.Status
	}
	return status, worst
}
