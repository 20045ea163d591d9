package main

import (
	"context"
	"fmt"
	"net/url"
)

// The client subcommands that change one instance or check.

func runDeregister(ctx context.Context, std streams, args []string) int {
	return clientCommand{
		name: "deregister", synopsis: "ID [flags]", arg: "ID",
		act: func(ctx context.Context, c *client, out output, args []string) error {
			id := args[0]
			if err := c.do(ctx, "PUT", "/v1/agent/service/deregister/"+url.PathEscape(id), nil, nil, nil); err != nil {
				return fmt.Errorf("deregister %s: %w", id, err)
			}
			return out.result(map[string]string{"ID": id}, "deregistered "+id)
		},
	}.run(ctx, std, args)
}

func runMaint(ctx context.Context, std streams, args []string) int {
	var disable bool
	var reason setString
	return clientCommand{
		name: "maint", synopsis: "ID [-reason R] | ID -disable [flags]", arg: "ID",
		flags: func(fs *flagSet) {
			fs.BoolVar(&disable, "disable", false, "take the instance out of maintenance mode")
			fs.Var(&reason, "reason", "`text` saying why the instance is in maintenance (the check's notes); not with -disable")
		},
		act: func(ctx context.Context, c *client, out output, args []string) error {
			id := args[0]
			if disable && reason.set {
				return usagef("-reason is only for putting an instance in maintenance; leave it out with -disable")
			}
			q := url.Values{"enable": {fmt.Sprint(!disable)}}
			if reason.v != "" {
				q.Set("reason", reason.v)
			}
			if err := c.do(ctx, "PUT", "/v1/agent/service/maintenance/"+url.PathEscape(id), q, nil, nil); err != nil {
				return fmt.Errorf("maint %s: %w", id, err)
			}
			state := "on"
			if disable {
				state = "off"
			}
			return out.result(map[string]any{"ID": id, "Maintenance": !disable}, id+": maintenance "+state)
		},
	}.run(ctx, std, args)
}

// checkStatus is the status each TTL update verb sets.
var checkStatus = map[string]string{"pass": "passing", "warn": "warning", "fail": "critical"}

// checkCommand is `beacon pass|warn|fail CHECK_ID [-note N]`.
func checkCommand(verb string) func(context.Context, streams, []string) int {
	return func(ctx context.Context, std streams, args []string) int {
		var note string
		return clientCommand{
			name: verb, synopsis: "CHECK_ID [-note N] [flags]", arg: "CHECK_ID",
			flags: func(fs *flagSet) {
				fs.StringVar(&note, "note", "", "text to record as the check's output")
			},
			act: func(ctx context.Context, c *client, out output, args []string) error {
				id := args[0]
				q := optional("note", note)
				if err := c.do(ctx, "PUT", "/v1/agent/check/"+verb+"/"+url.PathEscape(id), q, nil, nil); err != nil {
					return fmt.Errorf("%s %s: %w", verb, id, err)
				}
				status := checkStatus[verb]
				return out.result(map[string]string{"CheckID": id, "Status": status}, id+": "+status)
			},
		}.run(ctx, std, args)
	}
}
