package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"unicode"
)

// clientFlags are the flags every client subcommand shares.
type clientFlags struct {
	addr   string
	token  string
	caFile string
	json   bool
}

func (cf *clientFlags) define(fs *flagSet) {
	fs.StringVar(&cf.addr, "http-addr", "", "beacon's HTTP API, host:port or http(s):// URL (default $BEACON_HTTP_ADDR, $CONSUL_HTTP_ADDR or "+defaultHTTPAddr+")")
	fs.StringVar(&cf.token, "token", "", "API token sent as X-Consul-Token (default $BEACON_TOKEN or $CONSUL_HTTP_TOKEN)")
	fs.StringVar(&cf.caFile, "ca-file", "", "PEM `file` of CA certificates for an https:// address (default $BEACON_CACERT or $CONSUL_CACERT)")
	fs.BoolVar(&cf.json, "json", false, "print JSON for scripts instead of a table")
}

// client builds the API client; a flag beats beacon's environment
// variable, which beats Consul's.
func (cf *clientFlags) client(getenv env) (*client, error) {
	return newClient(
		firstSet(cf.addr, getenv("BEACON_HTTP_ADDR"), getenv("CONSUL_HTTP_ADDR")),
		firstSet(cf.token, getenv("BEACON_TOKEN"), getenv("CONSUL_HTTP_TOKEN")),
		firstSet(cf.caFile, getenv("BEACON_CACERT"), getenv("CONSUL_CACERT")),
	)
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// clientCommand is the shape every client subcommand shares: parse flags
// and positional arguments, then act through the API client.
type clientCommand struct {
	name     string
	synopsis string
	// arg names the one positional argument required, as the usage
	// shows it (ID, NAME, CHECK_ID); "" for none.
	arg string
	// flags defines the command's own flags, besides the shared ones.
	flags func(fs *flagSet)
	// act does the work; its error is printed as one line.
	act func(ctx context.Context, c *client, out output, args []string) error
}

// usageError is a mistake in the command line, reported with exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// run is the subcommand's entry point.
func (cc clientCommand) run(ctx context.Context, std streams, args []string) int {
	fs := newFlagSet(cc.name, cc.synopsis)
	var cf clientFlags
	cf.define(fs)
	if cc.flags != nil {
		cc.flags(fs)
	}
	pos, err := fs.parseInterspersed(args)
	if err == nil {
		err = cc.checkArgs(pos)
	}
	if err != nil {
		return fs.fail(std, err)
	}
	c, err := cf.client(std.getenv)
	if err == nil {
		err = cc.act(ctx, c, output{w: std.stdout, json: cf.json}, pos)
	}
	var uerr *usageError
	switch {
	case errors.As(err, &uerr):
		return fs.fail(std, err)
	case err != nil:
		fmt.Fprintf(std.stderr, "beacon: %s\n", oneLine(err.Error()))
		return exitFail
	}
	return exitOK
}

// checkArgs says what is wrong with the positional arguments.
func (cc clientCommand) checkArgs(pos []string) error {
	want := 0
	if cc.arg != "" {
		want = 1
	}
	switch {
	case len(pos) < want:
		return fmt.Errorf("missing %s", cc.arg)
	case len(pos) > want:
		return fmt.Errorf("unexpected argument %q", pos[want])
	}
	return nil
}

// output prints results as a table for people or JSON for scripts.
type output struct {
	w    io.Writer
	json bool
}

// result prints v as JSON, or the text for people.
func (o output) result(v any, text string) error {
	if o.json {
		return o.writeJSON(v)
	}
	_, err := fmt.Fprintln(o.w, text)
	return err
}

func (o output) writeJSON(v any) error {
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints rows under header, columns aligned.
func (o output) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(o.w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = cell(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// cell makes a value safe for one table cell: no tabs, newlines or other
// control characters, and "-" for nothing.
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if s = oneLine(s); s == "" {
		return "-"
	}
	return s
}

// optional is the query of one parameter, or none when its value is empty.
func optional(key, value string) url.Values {
	if value == "" {
		return nil
	}
	return url.Values{key: {value}}
}
