package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// completion is `bridge completion bash|zsh|fish`: a script completing
// the commands, each command's flags and the settings, written from the
// same tables as the help.
func completion(args []string, stdout, stderr io.Writer) int {
	if _, ok := helpWanted(args); ok {
		commandHelp(stdout, lookup("completion"), false)
		return 0
	}
	shell := ""
	if len(args) == 1 {
		shell = args[0]
	}
	switch shell {
	case "bash":
		bashCompletion(stdout)
	case "zsh":
		// zsh runs the bash script through its bash emulation.
		fmt.Fprint(stdout, "#compdef bridge\nautoload -U +X bashcompinit && bashcompinit\n")
		bashCompletion(stdout)
	case "fish":
		fishCompletion(stdout)
	default:
		fmt.Fprintf(stderr, "bridge completion: say which shell: bash, zsh or fish (not understood: %q); for bash: source <(bridge completion bash)\n", strings.Join(args, " "))
		return 2
	}
	return 0
}

// words are what may follow a command on its line: its action words and
// own flags; settings are the flags every command with flags takes.
func words(cmd *command) (own, settings []string) {
	switch cmd.name {
	case "dlq":
		own = []string{"list", "replay"}
	case "help":
		for _, c := range commands {
			own = append(own, c.name)
		}
	case "completion":
		own = []string{"bash", "zsh", "fish"}
	}
	if cmd.flags == nil {
		return own, nil
	}
	names := ownFlags(cmd)
	for _, n := range names {
		own = append(own, "--"+n)
	}
	newFlagSet(cmd).VisitAll(func(f *flag.Flag) {
		if !slices.Contains(names, f.Name) {
			settings = append(settings, "--"+f.Name)
		}
	})
	return own, settings
}

func bashCompletion(w io.Writer) {
	var names, switches, all []string
	var cases strings.Builder
	for _, c := range commands {
		names = append(names, c.name)
		own, settings := words(&c)
		if settings != nil {
			all = settings
			own = append(own, "$settings")
		}
		fmt.Fprintf(&cases, "    %s) words=%q ;;\n", c.name, strings.Join(own, " "))
		if c.flags != nil {
			newFlagSet(&c).VisitAll(func(f *flag.Flag) {
				if kind, _ := flag.UnquoteUsage(f); kind == "" && !slices.Contains(switches, "--"+f.Name) {
					switches = append(switches, "--"+f.Name)
				}
			})
		}
	}
	fmt.Fprint(w, "# bash completion for bridge: source <(bridge completion bash)\n_bridge() {\n")
	fmt.Fprint(w, "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=run words\n")
	fmt.Fprintf(w, "    local settings=%q\n", strings.Join(all, " "))
	// After a flag that takes a value, the shell's own completion (files).
	fmt.Fprintf(w, "    local switches=%q\n", " "+strings.Join(switches, " ")+" ")
	fmt.Fprint(w, "    if [[ $prev == -* && $switches != *\" $prev \"* && $cur != -* ]]; then return; fi\n")
	fmt.Fprintf(w, "    if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then\n        COMPREPLY=($(compgen -W %q -- \"$cur\")); return\n    fi\n", strings.Join(names, " "))
	fmt.Fprint(w, "    [[ ${COMP_WORDS[1]} == -* ]] || cmd=${COMP_WORDS[1]}\n    case $cmd in\n")
	fmt.Fprint(w, cases.String())
	fmt.Fprint(w, "    esac\n    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -o default -F _bridge bridge\n")
}

func fishCompletion(w io.Writer) {
	fmt.Fprint(w, "# fish completion for bridge: bridge completion fish | source\n")
	for _, c := range commands {
		fmt.Fprintf(w, "complete -c bridge -n __fish_use_subcommand -f -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	// The settings go with every command; a command's own words after it.
	newFlagSet(&command{}).VisitAll(func(f *flag.Flag) { fishFlag(w, f, "") })
	for _, c := range commands {
		own, _ := words(&c)
		fs := newFlagSet(&c)
		cond := "__fish_seen_subcommand_from " + c.name
		for _, word := range own {
			if name, ok := strings.CutPrefix(word, "--"); ok {
				fishFlag(w, fs.Lookup(name), cond)
			} else {
				fmt.Fprintf(w, "complete -c bridge -n %s -f -a %s\n", fishQuote(cond), word)
			}
		}
	}
}

// fishFlag completes --name, with the first part of its usage; one that
// takes a value asks for it (-r).
func fishFlag(w io.Writer, f *flag.Flag, cond string) {
	kind, text := flag.UnquoteUsage(f)
	if i := strings.IndexAny(text, ";(:"); i > 0 {
		text = text[:i]
	}
	line := "complete -c bridge"
	if cond != "" {
		line += " -n " + fishQuote(cond)
	}
	line += " -l " + f.Name
	if kind != "" {
		line += " -r"
	}
	fmt.Fprintf(w, "%s -d %s\n", line, fishQuote(strings.TrimSpace(text)))
}

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
