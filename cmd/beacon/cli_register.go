package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// registerFlags are the flags of `beacon register`.
type registerFlags struct {
	name, id, address string
	port              int
	tags, meta        listFlag

	http, tcp       string
	ttl             time.Duration
	interval        time.Duration
	timeout         time.Duration
	deregisterAfter time.Duration
}

// defaultCheckInterval is the interval of -http and -tcp checks without
// -interval.
const defaultCheckInterval = 10 * time.Second

func runRegister(ctx context.Context, std streams, args []string) int {
	var r registerFlags
	return clientCommand{
		name:     "register",
		synopsis: "-name NAME [-id ID] [-address A] [-port P] [-tag T]... [-meta K=V]... [-http URL | -tcp ADDR | -ttl D] [flags]",
		flags:    r.define,
		act:      r.act,
	}.run(ctx, std, args)
}

func (r *registerFlags) define(fs *flagSet) {
	fs.StringVar(&r.name, "name", "", "service name (required)")
	fs.StringVar(&r.id, "id", "", "instance ID (default the name)")
	fs.StringVar(&r.address, "address", "", "instance address, IP or hostname (default the server's -advertise)")
	fs.IntVar(&r.port, "port", 0, "instance port")
	fs.Var(&r.tags, "tag", "`tag` of the instance (repeatable)")
	fs.Var(&r.meta, "meta", "metadata `key=value` (repeatable)")
	fs.StringVar(&r.http, "http", "", "check: GET this `URL`, passing on 2xx")
	fs.StringVar(&r.tcp, "tcp", "", "check: connect to this host:port")
	fs.DurationVar(&r.ttl, "ttl", 0, "check: critical unless reported (beacon pass) within this duration")
	fs.DurationVar(&r.interval, "interval", 0, "interval of an -http or -tcp check (default 10s)")
	fs.DurationVar(&r.timeout, "timeout", 0, "timeout of an -http or -tcp check (default 10s, at most -interval)")
	fs.DurationVar(&r.deregisterAfter, "deregister-after", 0, "remove the instance once its check has been critical this long")
}

// registration builds the request body, or says which flags clash.
func (r *registerFlags) registration() (*registration, error) {
	if r.name == "" {
		return nil, usagef("-name is required")
	}
	meta, err := parseMeta(r.meta)
	if err != nil {
		return nil, err
	}
	check, err := r.check()
	if err != nil {
		return nil, err
	}
	return &registration{ID: r.id, Name: r.name, Address: r.address, Port: r.port,
		Tags: r.tags, Meta: meta, Check: check}, nil
}

// check builds the one check the flags describe, if any.
func (r *registerFlags) check() (*checkDef, error) {
	kinds := 0
	for _, set := range []bool{r.http != "", r.tcp != "", r.ttl != 0} {
		if set {
			kinds++
		}
	}
	active := r.http != "" || r.tcp != ""
	switch {
	case kinds > 1:
		return nil, usagef("give one check: -http, -tcp or -ttl")
	case r.ttl < 0 || r.interval < 0 || r.timeout < 0 || r.deregisterAfter < 0:
		return nil, usagef("durations must not be negative")
	case !active && (r.interval != 0 || r.timeout != 0):
		return nil, usagef("-interval and -timeout need an -http or -tcp check")
	case kinds == 0 && r.deregisterAfter != 0:
		return nil, usagef("-deregister-after needs a check (-http, -tcp or -ttl)")
	case kinds == 0:
		return nil, nil
	}
	c := &checkDef{HTTP: r.http, TCP: r.tcp, DeregisterCriticalServiceAfter: durationText(r.deregisterAfter)}
	if r.ttl != 0 {
		c.TTL = r.ttl.String()
		return c, nil
	}
	c.Interval = defaultCheckInterval.String()
	if r.interval != 0 {
		c.Interval = r.interval.String()
	}
	c.Timeout = durationText(r.timeout)
	return c, nil
}

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// parseMeta turns repeated key=value flags into a map.
func parseMeta(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	meta := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("-meta %q is not key=value", kv)
		}
		meta[k] = v
	}
	return meta, nil
}

// registered is what register prints with -json.
type registered struct {
	ID      string
	Name    string
	CheckID string `json:",omitempty"`
}

func (r *registerFlags) act(ctx context.Context, c *client, out output, _ []string) error {
	reg, err := r.registration()
	if err != nil {
		return err
	}
	if err := c.do(ctx, "PUT", "/v1/agent/service/register", nil, reg, nil); err != nil {
		return fmt.Errorf("register %s: %w", reg.Name, err)
	}
	res := registered{ID: firstSet(reg.ID, reg.Name), Name: reg.Name}
	text := fmt.Sprintf("registered %s (service %s)", res.ID, res.Name)
	if reg.Check != nil {
		// Consul's ID for the only check of a registration.
		res.CheckID = "service:" + res.ID
		text = fmt.Sprintf("registered %s (service %s, check %s)", res.ID, res.Name, res.CheckID)
	}
	return out.result(res, text)
}
