package main

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// transition is one element of GET /v1/beacon/history/:id.
type transition struct {
	Time    time.Time
	From    string
	To      string
	CheckID string
	Output  string
}

func runHistory(ctx context.Context, std streams, args []string) int {
	return clientCommand{
		name: "history", synopsis: "ID [flags]", arg: "ID",
		act: func(ctx context.Context, c *client, out output, args []string) error {
			id := args[0]
			trs := []transition{}
			if err := c.do(ctx, "GET", "/v1/beacon/history/"+url.PathEscape(id), nil, nil, &trs); err != nil {
				return fmt.Errorf("history %s: %w", id, err)
			}
			if out.json {
				return out.writeJSON(trs)
			}
			if len(trs) == 0 {
				_, err := fmt.Fprintf(out.w, "%s has no health transitions recorded\n", cell(id))
				return err
			}
			rows := make([][]string, len(trs))
			for i, t := range trs {
				rows[i] = []string{t.Time.UTC().Format("2006-01-02 15:04:05Z"), t.From, t.To, t.CheckID, truncate(t.Output, 72)}
			}
			return out.table([]string{"TIME", "FROM", "TO", "CHECK", "OUTPUT"}, rows)
		},
	}.run(ctx, std, args)
}
