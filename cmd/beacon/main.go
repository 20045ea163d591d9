// Command beacon is a service registry with a DNS interface: `beacon serve`
// runs the server, and the other subcommands are a client of its HTTP API.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes. Usage errors follow the flag package's convention.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// env reads one environment variable; tests pass their own.
type env func(key string) string

// streams are where a command writes; tests capture them.
type streams struct {
	stdout io.Writer
	stderr io.Writer
	getenv env
}

// command is one subcommand of beacon.
type command struct {
	summary string
	run     func(ctx context.Context, std streams, args []string) int
}

// commands maps each subcommand name to its implementation.
var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":      {"run the server", runServe},
		"register":   {"register an instance through the HTTP API", runRegister},
		"deregister": {"remove an instance", runDeregister},
		"services":   {"list services and their healthy/total counts", runServices},
		"instances":  {"list instances of a service with health", runInstances},
		"explain":    {"say why each instance of a service is in DNS or not", runExplain},
		"history":    {"list an instance's health transitions", runHistory},
		"maint":      {"put an instance in or out of maintenance mode", runMaint},
		"pass":       {"mark a TTL check passing", checkCommand("pass")},
		"warn":       {"mark a TTL check warning", checkCommand("warn")},
		"fail":       {"mark a TTL check critical", checkCommand("fail")},
		"version":    {"print the version", runVersion},
	}
}

// commandOrder is the order of the usage text.
var commandOrder = []string{"serve", "register", "deregister", "services", "instances", "explain", "history", "maint", "pass", "warn", "fail", "version"}

func main() {
	// The first signal cancels ctx and starts a graceful shutdown; stop
	// restores the default handling, so a second one ends beacon at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, streams{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:]))
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, std streams, args []string) int {
	if len(args) == 0 {
		usage(std.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) < 2 || name != "help" {
			usage(std.stdout)
			return exitOK
		}
		// `beacon help CMD` is `beacon CMD -h`: the command's usage and
		// its flags.
		if len(args) > 2 {
			fmt.Fprintf(std.stderr, "beacon help: unexpected argument %q; run \"beacon help COMMAND\"\n", args[2])
			return exitUsage
		}
		name, args = args[1], []string{name, "-h"}
		if _, ok := commands[name]; !ok {
			fmt.Fprintf(std.stderr, "beacon help: unknown command %q; run \"beacon help\" for the list\n", name)
			return exitUsage
		}
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(std.stderr, "beacon: unknown command %q; run \"beacon help\" for the list\n", name)
		return exitUsage
	}
	return cmd.run(ctx, std, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: beacon <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, name := range commandOrder {
		fmt.Fprintf(w, "  %-11s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run \"beacon help <command>\" (or \"beacon <command> -h\") for its usage and flags.")
}
