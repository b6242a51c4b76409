package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// globalFlags are the settings `bridge help` shows under the commands:
// where to read, where to deliver, and how loud.
var globalFlags = []string{"config", "context", "nats-url", "konnect-region", "konnect-token", "sandbox", "log-level"}

// groups head the settings by the first part of their YAML key.
var groups = map[string]string{
	"nats":    "NATS connection",
	"konnect": "Konnect",
	"bridge":  "Stream, consumer, dead letters, admin server, logs, sandbox",
	"fence":   "Fence: which customer a subject may bill",
	"batch":   "Batches and flow control",
	"retry":   "Retries",
	"billing": "Billing check",
}

// usage is `bridge help`: the commands, one line each, then a few global
// flags; with all, every setting after them.
func usage(w io.Writer, all bool) {
	fmt.Fprint(w, "bridge delivers agent_run usage events from NATS to Kong Konnect Metering & Billing.\n\n")
	fmt.Fprint(w, "Usage:\n  bridge [COMMAND] [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s%s\n", c.name, c.summary)
	}
	fs := newFlagSet(lookup("run"))
	fmt.Fprint(w, "\nGlobal flags (every command takes them):\n")
	printFlags(w, fs, globalFlags)
	if all {
		printSettings(w, fs)
		return
	}
	fmt.Fprintf(w, "\n`bridge COMMAND --help` shows a command's flags; `bridge --help-all` adds all %d settings.\n", len(config.Settings))
}

// commandHelp is `bridge CMD --help` and `bridge help CMD`: the command's
// own flags first, then the settings, which run takes as its own and
// every other command lists only with all (--help-all).
func commandHelp(w io.Writer, cmd *command, all bool) {
	fmt.Fprintf(w, "bridge %s: %s\n\nUsage:\n  bridge %s\n", cmd.name, cmd.summary, cmd.use)
	if cmd.note != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.note)
	}
	if cmd.flags == nil {
		return
	}
	fs := newFlagSet(cmd)
	if own := ownFlags(cmd); len(own) > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, fs, own)
	}
	if all || cmd.validate {
		printSettings(w, fs)
		return
	}
	fmt.Fprintf(w, "\nIt also takes the %d settings (NATS connection, Konnect, ...) as flags or environment variables: `bridge %s --help-all` lists them.\n", len(config.Settings), cmd.name)
}

// printSettings lists every setting under the heading of its group, in the
// order of the settings table.
func printSettings(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, "\nSettings (flags, or the environment variables named; docs/configuration.md explains them):\n")
	printFlags(w, fs, []string{"config"})
	var group string
	var names []string
	flush := func() {
		if len(names) > 0 {
			fmt.Fprintf(w, "\n %s:\n", groups[group])
			printFlags(w, fs, names)
		}
		names = nil
	}
	for _, s := range config.Settings {
		if g, _, _ := strings.Cut(s.YAML, "."); g != group {
			flush()
			group = g
		}
		names = append(names, s.Flag)
	}
	flush()
}

// printFlags writes one flag a line, `--name type  usage (default …)`, the
// usage wrapped under itself.
func printFlags(w io.Writer, fs *flag.FlagSet, names []string) {
	const width, maxName = 100, 30
	col := 0
	for _, n := range names {
		col = max(col, min(len(flagName(fs.Lookup(n))), maxName))
	}
	for _, n := range names {
		f := fs.Lookup(n)
		name, text := flagName(f), flagUsage(f)
		line := fmt.Sprintf("  %-*s  ", col, name)
		if len(name) > col {
			line = "  " + name + "\n" + strings.Repeat(" ", col+4)
		}
		fmt.Fprintln(w, line+wrap(text, width-col-4, strings.Repeat(" ", col+4)))
	}
}

// flagName is --name and the kind of value it takes (none for a switch).
func flagName(f *flag.Flag) string {
	kind, _ := flag.UnquoteUsage(f)
	if kind == "value" { // a setting's own flag.Value: *config.durationValue
		t := fmt.Sprintf("%T", f.Value)
		kind = strings.TrimSuffix(strings.TrimSuffix(t[strings.LastIndex(t, ".")+1:], "Value"), "64")
	}
	if kind == "" {
		return "--" + f.Name
	}
	return "--" + f.Name + " " + kind
}

func flagUsage(f *flag.Flag) string {
	_, text := flag.UnquoteUsage(f)
	switch f.DefValue {
	case "", "0", "false", "0s":
	default:
		text += fmt.Sprintf(" (default %s)", f.DefValue)
	}
	return text
}

// wrap breaks s into lines of at most width, each after the first
// starting with indent.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(s) {
		if i > 0 && n+1+len(word) > width {
			b.WriteString("\n" + indent)
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

// newFlagSet holds cmd's flags and every setting, as run parses them.
func newFlagSet(cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet("bridge "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	config.Register(fs)
	return fs
}

// ownFlags names the flags cmd adds to the settings, sorted.
func ownFlags(cmd *command) []string {
	var own []string
	if cmd.flags != nil {
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		cmd.flags(fs)
		fs.VisitAll(func(f *flag.Flag) { own = append(own, f.Name) })
	}
	return own
}

// isHelp: a is -h, --help or --help-all (with one dash or two).
func isHelp(a string) bool {
	switch strings.TrimLeft(a, "-") {
	case "h", "help", "help-all":
		return a != strings.TrimLeft(a, "-")
	}
	return false
}

// helpWanted finds a request for help among args, before a "--"; all
// asks for every setting too.
func helpWanted(args []string) (all, ok bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelp(a) {
			all = all || strings.HasSuffix(a, "help-all")
			ok = true
		}
	}
	return all, ok
}
