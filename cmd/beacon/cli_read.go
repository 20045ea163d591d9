package main

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The client subcommands that read the catalog.

// serviceRow is one line of `beacon services`. Healthy counts passing and
// warning instances: those DNS answers with by default.
type serviceRow struct {
	Name     string
	Healthy  int
	Total    int
	Passing  int
	Warning  int
	Critical int
	Tags     []string
}

// instanceRow is one line of `beacon instances`.
type instanceRow struct {
	ID      string
	Service string
	Health  string
	Address string
	Port    int
	Tags    []string
	Meta    map[string]string `json:",omitempty"`
	Checks  []healthCheck
	// Maintenance says whether the instance is in maintenance mode, and
	// MaintenanceReason why.
	Maintenance       bool
	MaintenanceReason string `json:",omitempty"`
}

// fetchConcurrency bounds the per-service requests of `beacon services`.
const fetchConcurrency = 8

func runServices(ctx context.Context, std streams, args []string) int {
	return clientCommand{name: "services", synopsis: "[flags]", act: listServices}.run(ctx, std, args)
}

func listServices(ctx context.Context, c *client, out output, _ []string) error {
	var catalog map[string][]string
	if err := c.do(ctx, "GET", "/v1/catalog/services", nil, nil, &catalog); err != nil {
		return fmt.Errorf("services: %w", err)
	}
	rows, err := serviceRows(ctx, c, catalog)
	if err != nil {
		return fmt.Errorf("services: %w", err)
	}
	if out.json {
		return out.writeJSON(rows)
	}
	table := make([][]string, len(rows))
	for i, r := range rows {
		table[i] = []string{r.Name, fmt.Sprintf("%d/%d", r.Healthy, r.Total), strings.Join(r.Tags, ",")}
	}
	return out.table([]string{"NAME", "HEALTHY", "TAGS"}, table)
}

// serviceRows counts each service's instances by health, a few services
// at a time.
func serviceRows(ctx context.Context, c *client, catalog map[string][]string) ([]serviceRow, error) {
	rows := make([]serviceRow, 0, len(catalog))
	for name, tags := range catalog {
		sort.Strings(tags)
		rows = append(rows, serviceRow{Name: name, Tags: tags})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	errs := make([]error, len(rows))
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for i := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func(r *serviceRow, err *error) {
			defer func() { <-sem; wg.Done() }()
			*err = countHealth(ctx, c, r)
		}(&rows[i], &errs[i])
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

func countHealth(ctx context.Context, c *client, r *serviceRow) error {
	var entries []serviceEntry
	if err := c.do(ctx, "GET", "/v1/health/service/"+url.PathEscape(r.Name), nil, nil, &entries); err != nil {
		return err
	}
	for i := range entries {
		switch status, _ := entries[i].health(); status {
		case "passing":
			r.Passing++
		case "warning":
			r.Warning++
		default:
			r.Critical++
		}
	}
	r.Total = len(entries)
	r.Healthy = r.Passing + r.Warning
	return nil
}

func runInstances(ctx context.Context, std streams, args []string) int {
	return clientCommand{name: "instances", synopsis: "NAME [flags]", arg: "NAME", act: listInstances}.run(ctx, std, args)
}

func listInstances(ctx context.Context, c *client, out output, args []string) error {
	name := args[0]
	var entries []serviceEntry
	if err := c.do(ctx, "GET", "/v1/health/service/"+url.PathEscape(name), nil, nil, &entries); err != nil {
		return fmt.Errorf("instances %s: %w", name, err)
	}
	if len(entries) == 0 {
		// The health endpoint answers [] for a name nobody registered,
		// as Consul's does; only the catalog tells the two apart.
		if err := serviceKnown(ctx, c, name); err != nil {
			return fmt.Errorf("instances %s: %w", name, err)
		}
	}
	rows := make([]instanceRow, len(entries))
	table := make([][]string, len(entries))
	for i := range entries {
		e := &entries[i]
		status, worst := e.health()
		addr := firstSet(e.Service.Address, e.Node.Address)
		rows[i] = instanceRow{ID: e.Service.ID, Service: e.Service.Service, Health: status,
			Address: addr, Port: e.Service.Port, Tags: e.Service.Tags, Meta: e.Service.Meta, Checks: e.Checks}
		if rows[i].Checks == nil {
			rows[i].Checks = []healthCheck{}
		}
		var checkIDs []string
		for j := range e.Checks {
			if ch := &e.Checks[j]; ch.maintenance() {
				rows[i].Maintenance, rows[i].MaintenanceReason = true, ch.detail()
			} else {
				checkIDs = append(checkIDs, ch.CheckID)
			}
		}
		output := ""
		switch {
		case rows[i].Maintenance:
			output = truncate("maintenance: "+rows[i].MaintenanceReason, 72)
		case worst != nil:
			output = truncate(worst.detail(), 72)
		}
		table[i] = []string{e.Service.ID, status, addr, strconv.Itoa(e.Service.Port), strings.Join(e.Service.Tags, ","),
			strings.Join(checkIDs, ","), output}
	}
	if out.json {
		return out.writeJSON(rows)
	}
	return out.table([]string{"ID", "HEALTH", "ADDRESS", "PORT", "TAGS", "CHECKS", "OUTPUT"}, table)
}

// serviceKnown says whether the catalog lists the service name.
func serviceKnown(ctx context.Context, c *client, name string) error {
	var catalog map[string][]string
	if err := c.do(ctx, "GET", "/v1/catalog/services", nil, nil, &catalog); err != nil {
		return err
	}
	for n := range catalog {
		if strings.EqualFold(n, name) {
			return nil
		}
	}
	return fmt.Errorf("no service named %q is registered (see \"beacon services\")", name)
}

// truncate shortens s to n runes, marking the cut.
func truncate(s string, n int) string {
	s = oneLine(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
