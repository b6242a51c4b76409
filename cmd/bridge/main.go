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
	name, summary string
	// validate: the command needs the whole configuration to make sense,
	// not only the NATS part.
	validate bool
	flags    func(fs *flag.FlagSet) action
}

var commands = []command{
	{"run", "run the bridge (the default)", true, runFlags},
	{"emit", "publish a test agent_run event (or the guide's three) to NATS", false, emitFlags},
	{"dlq", "dlq list [--data] | dlq replay [--seq N]: show dead letters with their reasons, or send them back", false, dlqFlags},
	{"check", "check the configuration, NATS, the stream and Konnect; exit 1 when something is wrong", false, checkFlags},
	{"usage", "usage [--customer acme-inc] [--from …] [--to …]: what the meter counted, by agent_name", false, usageFlags},
	{"invoice", "invoice --customer KEY [--period current|previous] [--json]: the invoice so far, next to what the bridge delivered; exit 1 if they disagree, 2 if it cannot tell", false, invoiceFlags},
	{"reconcile", "reconcile --since 1h [--until …] [--customer SUBJECT] [--json]: is every delivered event stored and billable? exit 1 if not", false, reconcileFlags},
	{"health", "exit 0 when the admin server answers /healthz (container healthchecks)", false, healthFlags},
	{"version", "print the build", false, versionFlags},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	name := "run"
	if len(args) > 0 && !startsWithDash(args[0]) {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		usage(stderr)
		return 0
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == name {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "bridge: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	if name == "dlq" {
		// The action word goes after the flags, so that flags work on any
		// side of it: `dlq replay --seq 7`, `dlq --seq 7 replay`,
		// `dlq --nats-listen X list --data`.
		if i := slices.IndexFunc(args, func(a string) bool { return a == "list" || a == "replay" }); i >= 0 {
			args = append(slices.Delete(slices.Clone(args), i, i+1), args[i])
		}
	}
	fs := flag.NewFlagSet("bridge "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	body := cmd.flags(fs)
	cfg, err := config.Load(fs, args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil && cmd.validate {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "bridge: configuration is not valid:\n%s\n", indent(err.Error()))
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

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: bridge [command] [flags]")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "Every command takes the configuration flags; see `bridge run -h` and the README.")
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
