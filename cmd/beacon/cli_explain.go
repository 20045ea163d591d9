package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
)

// explanation is the answer of GET /v1/beacon/explain/:name.
type explanation struct {
	Service   string
	Tag       string `json:",omitempty"`
	Instances []instanceExplanation
	Panic     bool
}

// instanceExplanation is one instance of it; TTL is in whole seconds.
type instanceExplanation struct {
	ID      string
	InDNS   bool
	Reasons []string
	TTL     int
	TTLCaps []string
}

func runExplain(ctx context.Context, std streams, args []string) int {
	var tag string
	return clientCommand{
		name: "explain", synopsis: "NAME [-tag T] [flags]", arg: "NAME",
		flags: func(fs *flagSet) {
			fs.StringVar(&tag, "tag", "", "explain the answers for this `tag` (<tag>.<name>.service.local)")
		},
		act: func(ctx context.Context, c *client, out output, args []string) error {
			name := args[0]
			q := optional("tag", tag)
			var x explanation
			if err := c.do(ctx, "GET", "/v1/beacon/explain/"+url.PathEscape(name), q, nil, &x); err != nil {
				return fmt.Errorf("explain %s: %w", name, err)
			}
			if out.json {
				return out.writeJSON(x)
			}
			return printExplanation(out, &x)
		},
	}.run(ctx, std, args)
}

// printExplanation writes a headline, then per instance whether DNS
// answers with it, its TTL, and one line per reason and for what caps
// the TTL.
func printExplanation(out output, x *explanation) error {
	in := 0
	for _, i := range x.Instances {
		if i.InDNS {
			in++
		}
	}
	head := fmt.Sprintf("%s: DNS answers with %d of %d instances", x.Service, in, len(x.Instances))
	if x.Tag != "" {
		head = fmt.Sprintf("%s.%s: DNS answers with %d of %d instances", cell(x.Tag), x.Service, in, len(x.Instances))
	}
	if x.Panic {
		head += "; the service is in panic mode (too few healthy instances: DNS answers with every one not in maintenance)"
	}
	fmt.Fprintln(out.w, head)
	tw := tabwriter.NewWriter(out.w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tIN DNS\tTTL\tWHY")
	for _, i := range x.Instances {
		dns, ttl := "no", "-"
		if i.InDNS {
			dns, ttl = "yes", strconv.Itoa(i.TTL)+"s"
		}
		lines := make([]string, 0, len(i.Reasons)+1)
		for _, r := range i.Reasons {
			lines = append(lines, cell(r))
		}
		if len(i.TTLCaps) > 0 {
			caps := make([]string, len(i.TTLCaps))
			for j, c := range i.TTLCaps {
				caps[j] = cell(c)
			}
			lines = append(lines, "TTL: "+strings.Join(caps, "; "))
		}
		if len(lines) == 0 {
			lines = append(lines, "-")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cell(i.ID), dns, ttl, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(tw, "\t\t\t%s\n", l)
		}
	}
	return tw.Flush()
}
