package main

import (
	"flag"
	"fmt"
	"strings"
)

// envName is the environment variable of a serve flag: BEACON_ and the
// flag name in upper case with dashes as underscores.
func envName(flagName string) string {
	return "BEACON_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// exclusiveGroups are flags of which the command line sets at most one;
// when it sets one, the environment sets none of the group, so that
// `-token-file f` is not undone by a BEACON_TOKEN exported for the CLI.
var exclusiveGroups = [][]string{{"token", "token-file"}}

// applyEnv sets each flag not given on the command line from its
// environment variable, if that is set and not empty. A repeatable flag
// takes a comma-separated list. It returns where each flag came from
// ("-ttl" or "BEACON_TTL") for error messages.
func applyEnv(fs *flag.FlagSet, getenv env) (map[string]string, error) {
	src := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { src[f.Name] = "-" + f.Name })
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	for _, group := range exclusiveGroups {
		if anyOf(onCommandLine, group) {
			for _, name := range group {
				onCommandLine[name] = true
			}
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || onCommandLine[f.Name] {
			return
		}
		key := envName(f.Name)
		val := getenv(key)
		if val == "" {
			return
		}
		src[f.Name] = key
		if err = setFromEnv(f, val); err != nil {
			err = fmt.Errorf("%s=%q: invalid value for -%s: %w", key, val, f.Name, err)
		}
	})
	return src, err
}

// setFromEnv sets f from val, splitting a list for repeatable flags.
func setFromEnv(f *flag.Flag, val string) error {
	if _, ok := f.Value.(*listFlag); !ok {
		return f.Value.Set(val)
	}
	for _, v := range strings.Split(val, ",") {
		if v = strings.TrimSpace(v); v != "" {
			if err := f.Value.Set(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func anyOf(set map[string]bool, names []string) bool {
	for _, n := range names {
		if set[n] {
			return true
		}
	}
	return false
}
