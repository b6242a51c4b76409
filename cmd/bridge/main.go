// Command bridge delivers agent-run usage events from NATS to Kong Konnect
// Metering & Billing. `bridge` runs it; `bridge help` lists the other
// commands. main parses, builds, runs and maps errors to an exit code;
// everything else lives under internal/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// action is what a command does once its configuration is loaded; it
// prints its results on stdout.
type action func(ctx context.Context, cfg config.Config, fs *flag.FlagSet, stdout io.Writer) error

// command is one subcommand: its flags are added to the configuration's.
type command struct {
	name string
	// use is what follows "bridge" in the command's usage line; summary
	// is its line in `bridge help`; note, if any, says more (exit codes).
	use, summary, note string
	// validate: the command needs the whole configuration to make sense,
	// not only the NATS part.
	validate bool
	flags    func(fs *flag.FlagSet) action
}

// commands are listed in this order by `bridge help`. help and completion
// have no flags: run answers them before any configuration is read.
var commands = []command{
	{name: "run", use: "run [settings]", summary: "run the bridge (the default command)", validate: true, flags: runFlags},
	{name: "emit", use: "emit [--guide] [--binary] [--no-id] [--customer KEY] [--count N]", summary: "publish a test agent_run event (or the guide's three) to NATS", flags: emitFlags},
	{name: "dlq", use: "dlq list|replay [--seq N] [--kind K] [--since 1h] [--data] [--dry-run]", summary: "show dead letters with their reasons, or send them back", note: "Flags go before or after list/replay; both take the filters --seq, --kind, --original-subject and --since.", flags: dlqFlags},
	{name: "map", use: "map test --mapping FILE --subject SUBJECT [--header NAME=VALUE] < message.json", summary: "show the CloudEvent a mapping rule makes of a message, or why it is dead-lettered", note: "--subject is the NATS subject the message arrives on. Exits 1 when no rule matches the message or the bridge would dead-letter it.", flags: mapFlags},
	{name: "check", use: "check", summary: "check the configuration, NATS, the stream and Konnect", note: "Exits 1 when something is wrong.", flags: checkFlags},
	{name: "usage", use: "usage [--customer acme-inc] [--from …] [--to …]", summary: "what the meter counted, by agent_name", flags: usageFlags},
	{name: "invoice", use: "invoice --customer KEY [--period current|previous] [--json]", summary: "the invoice so far, next to what the bridge delivered", note: "Exits 1 if they disagree, 2 if it cannot tell.", flags: invoiceFlags},
	{name: "reconcile", use: "reconcile --since 1h [--until …] [--customer SUBJECT] [--json]", summary: "is every delivered event stored and billable?", note: "Exits 1 if not.", flags: reconcileFlags},
	{name: "permissions", use: "permissions [settings]", summary: "print the least NATS permissions the bridge's user needs, as a nats-server user block", flags: permissionsFlags},
	{name: "health", use: "health [--ready]", summary: "exit 0 when the admin server answers /healthz (container healthchecks)", flags: healthFlags},
	{name: "version", use: "version", summary: "print the build", flags: versionFlags},
	{name: "help", use: "help [COMMAND]", summary: "list the commands, or show a command's flags"},
	{name: "completion", use: "completion bash|zsh|fish", summary: "print a shell completion script"},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	name := "run"
	if len(args) > 0 && !startsWithDash(args[0]) {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && isHelp(args[0]) {
		name, args = "help", args[:1] // `bridge --help` lists the commands, not run's flags
	}
	switch name {
	case "help":
		if len(args) > 0 && !startsWithDash(args[0]) {
			return run([]string{args[0], "--help"}, stdout, stderr)
		}
		all, _ := helpWanted(args)
		usage(stdout, all)
		return 0
	case "completion":
		return completion(args, stdout, stderr)
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "bridge: unknown command %q\n", name)
		usage(stderr, false)
		return 2
	}
	if all, ok := helpWanted(args); ok {
		commandHelp(stdout, cmd, all)
		return 0
	}
	if name == "map" && len(args) > 0 && args[0] == "test" {
		args = append(slices.Clone(args[1:]), "test") // the action word after the flags, as dlq's
	}
	if name == "dlq" {
		// The action word goes after the flags, so that flags work on any
		// side of it: `dlq replay --seq 7`, `dlq --seq 7 replay`,
		// `dlq --nats-listen X list --data`.
		if i := slices.IndexFunc(args, func(a string) bool { return a == "list" || a == "replay" }); i >= 0 {
			args = append(slices.Delete(slices.Clone(args), i, i+1), args[i])
		}
	}
	// The flag package's own usage text is replaced by commandHelp above;
	// its errors are returned and said once, below.
	fs := flag.NewFlagSet("bridge "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	body := cmd.flags(fs)
	cfg, err := config.Load(fs, args, os.Getenv)
	if err == nil && cmd.validate {
		err = cfg.Validate()
	}
	if err != nil {
		if flagErr := newFlagSet(cmd).Parse(args); flagErr != nil { // the command line itself
			fmt.Fprintf(stderr, "bridge %s: %v; `bridge %s --help` lists its flags, --help-all every setting\n", name, flagErr, name)
		} else {
			fmt.Fprintf(stderr, "bridge: configuration is not valid:\n%s\n", indent(err.Error()))
		}
		return 2
	}
	// Whatever a command prints, its own text or a library's error, goes
	// out without the configuration's secrets.
	scrub := cfg.Scrubber()
	stdout, stderr = scrub.Writer(stdout), scrub.Writer(stderr)
	ctx, stop := signalContext(stderr)
	defer stop()
	if err := body(ctx, cfg, fs, stdout); err != nil {
		fmt.Fprintf(stderr, "bridge %s: %v\n", name, err)
		if errors.As(err, new(cannotTell)) {
			return 2
		}
		return 1
	}
	return 0
}

// cannotTell is an error after which a command could not decide (what it
// needs could not be read): it exits 2, where a finding exits 1.
type cannotTell struct{ error }

// signalContext ends on the first SIGINT or SIGTERM; a second one exits at
// once (what was not acked is redelivered by JetStream).
func signalContext(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		cancel()
		<-sig
		fmt.Fprintln(stderr, "bridge: second signal, exiting now; unacknowledged messages will be redelivered")
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(sig); cancel() }
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func startsWithDash(s string) bool { return len(s) > 0 && s[0] == '-' }

func indent(s string) string {
	out := "  - "
	for _, r := range s {
		out += string(r)
		if r == '\n' {
			out += "  - "
		}
	}
	return out
}
