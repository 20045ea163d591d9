package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagSet is a subcommand's flags with the synopsis its usage shows.
type flagSet struct {
	*flag.FlagSet
	name     string
	synopsis string
}

// newFlagSet returns a flag set that reports errors to its caller instead
// of printing them with the whole usage text, so a mistake costs one line.
func newFlagSet(name, synopsis string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, name: name, synopsis: synopsis}
}

// printUsage writes the synopsis and the flags to w.
func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintln(w, strings.TrimSpace("Usage: beacon "+fs.name+" "+fs.synopsis))
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprint(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// parseInterspersed parses args allowing flags after positional
// arguments (`beacon maint web1 -reason x`), where package flag alone
// stops at the first positional one. Everything after "--" is positional.
func (fs *flagSet) parseInterspersed(args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// fail reports a usage error as one line and returns the exit code; -h
// prints the usage to stdout and succeeds.
func (fs *flagSet) fail(std streams, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		fs.printUsage(std.stdout)
		return exitOK
	}
	fmt.Fprintf(std.stderr, "beacon %s: %v (see \"beacon %s -h\")\n", fs.name, err, fs.name)
	return exitUsage
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// setString is a string flag that records whether it was given at all,
// so that an empty value can be told from a missing flag.
type setString struct {
	v   string
	set bool
}

func (s *setString) String() string { return s.v }

func (s *setString) Set(v string) error {
	s.v, s.set = v, true
	return nil
}

var (
	_ flag.Value = (*listFlag)(nil)
	_ flag.Value = (*setString)(nil)
)
