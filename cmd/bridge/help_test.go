package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// helpOf runs the command line and returns its exit code, stdout and
// stderr apart: help asked for goes to stdout.
func helpOf(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpListsTheCommandsNotTheSettings(t *testing.T) {
	tests := map[string]struct {
		args   []string
		code   int
		stderr bool
	}{
		"--help":          {args: []string{"--help"}},
		"-h":              {args: []string{"-h"}},
		"help":            {args: []string{"help"}},
		"an unknown word": {args: []string{"frobnicate"}, code: 2, stderr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := helpOf(tc.args...)
			out := stdout
			if tc.stderr {
				out = stderr
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s%s", code, tc.code, stdout, stderr)
			}
			for _, c := range commands {
				if !strings.Contains(out, "\n  "+c.name+" ") || !strings.Contains(out, c.summary) {
					t.Errorf("does not list %s (%q):\n%s", c.name, c.summary, out)
				}
			}
			for _, w := range []string{"Global flags", "--nats-url", "--config", "`bridge COMMAND --help`"} {
				if !strings.Contains(out, w) {
					t.Errorf("does not say %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "--batch-size") || strings.Count(out, "\n  --") > 10 {
				t.Errorf("lists the settings, not a few global flags:\n%s", out)
			}
			if tc.stderr && !strings.Contains(out, `unknown command "frobnicate"`) {
				t.Errorf("does not name the unknown word:\n%s", out)
			}
		})
	}
	// --help-all adds every setting, with its environment variable.
	_, out, _ := helpOf("--help-all")
	for _, s := range config.Settings {
		if !strings.Contains(out, "--"+s.Flag) || !strings.Contains(out, s.Env) {
			t.Errorf("bridge --help-all does not list --%s (%s)", s.Flag, s.Env)
		}
	}
}

func TestCommandHelpShowsItsOwnFlagsBeforeTheSettings(t *testing.T) {
	code, out, stderr := helpOf("emit", "--help")
	if code != 0 || stderr != "" {
		t.Fatalf("emit --help: exit %d, stderr %q", code, stderr)
	}
	for _, w := range []string{"Usage:\n  bridge emit ", "--customer string", "--guide ", "--to string", "(default acme-inc)", "`bridge emit --help-all`"} {
		if !strings.Contains(out, w) {
			t.Errorf("emit --help does not say %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "--batch-size") || strings.Contains(out, "--nats-url") {
		t.Errorf("emit --help buries its flags among the settings:\n%s", out)
	}

	_, all, _ := helpOf("emit", "--help-all")
	own, nats, batch := strings.Index(all, "--customer string"), strings.Index(all, "NATS connection:"), strings.Index(all, "--batch-size int")
	if own < 0 || nats < 0 || batch < 0 || !(own < nats && nats < batch) {
		t.Errorf("emit --help-all: emit's flags (at %d), then the NATS heading (at %d), then --batch-size (at %d):\n%s", own, nats, batch, all)
	}

	// run's flags are the settings: its help lists them, grouped.
	_, runHelp, _ := helpOf("run", "-h")
	for _, w := range []string{"NATS connection:", "Konnect:", "--konnect-token secret", "KONNECT_TOKEN", "--linger duration"} {
		if !strings.Contains(runHelp, w) {
			t.Errorf("run -h does not say %q:\n%s", w, runHelp)
		}
	}
}

func TestHelpCommandEqualsCommandHelp(t *testing.T) {
	for _, c := range commands {
		if c.name == "help" { // `bridge help --help` is `bridge help`
			continue
		}
		_, viaHelp, _ := helpOf("help", c.name)
		_, viaFlag, _ := helpOf(c.name, "--help")
		if viaHelp != viaFlag || !strings.HasPrefix(viaHelp, "bridge "+c.name+": "+c.summary) {
			t.Errorf("bridge help %s:\n%s\nbridge %s --help:\n%s", c.name, viaHelp, c.name, viaFlag)
		}
	}
	// Help after dlq's action word is still dlq's help.
	if _, out, _ := helpOf("dlq", "list", "--help"); !strings.Contains(out, "--original-subject string") {
		t.Errorf("dlq list --help:\n%s", out)
	}
	if code, _, stderr := helpOf("help", "nosuch"); code != 2 || !strings.Contains(stderr, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: exit %d, want 2 naming it:\n%s", code, stderr)
	}
}

func TestAWrongFlagIsOneLineNamingItAndTheHelp(t *testing.T) {
	code, stdout, stderr := helpOf("emit", "--custmer", "acme-inc")
	want := "bridge emit: flag provided but not defined: -custmer; `bridge emit --help` lists its flags, --help-all every setting\n"
	if code != 2 || stderr != want || stdout != "" {
		t.Errorf("exit %d, stderr %q, stdout %q; want 2 and %q", code, stderr, stdout, want)
	}
}

func TestCompletionCompletesCommandsAndFlags(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, stderr := helpOf("completion", shell)
		if code != 0 || stderr != "" {
			t.Fatalf("completion %s: exit %d: %s", shell, code, stderr)
		}
		for _, c := range commands {
			if !strings.Contains(out, c.name) {
				t.Errorf("completion %s does not mention %s", shell, c.name)
			}
		}
		if !strings.Contains(out, "customer") || !strings.Contains(out, "nats-url") {
			t.Errorf("completion %s does not complete emit's --customer or --nats-url:\n%s", shell, out)
		}
	}
	if code, _, stderr := helpOf("completion", "tcsh"); code != 2 || !strings.Contains(stderr, "bash, zsh or fish") {
		t.Errorf("completion tcsh: exit %d: %s", code, stderr)
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the script in")
	}
	_, script, _ := helpOf("completion", "bash")
	complete := func(words ...string) string {
		t.Helper()
		line := `COMP_WORDS=(` + strings.Join(words, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _bridge; echo "${COMPREPLY[*]}"`
		out, err := exec.Command(bash, "--norc", "-c", script+"\n"+line).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"bridge", "em"}, "emit"},
		{[]string{"bridge", "emit", "--cust"}, "--customer"},
		{[]string{"bridge", "dlq", "--seq", "7", "rep"}, "replay"},
		{[]string{"bridge", "--nats-ur"}, "--nats-url"},
		{[]string{"bridge", "completion", "''"}, "bash zsh fish"},
		{[]string{"bridge", "emit", "--customer", "''"}, ""}, // a value: the shell's own completion
	} {
		if got := complete(tc.words...); got != tc.want {
			t.Errorf("completing %v: %q, want %q", tc.words, got, tc.want)
		}
	}
}
