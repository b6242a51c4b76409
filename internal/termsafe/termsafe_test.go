package termsafe_test

import (
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/termsafe"
)

func TestStringShowsWhatATerminalWouldObey(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"plain":                {"agent.runs.acme: invalid subject", "agent.runs.acme: invalid subject"},
		"unicode text":         {"Müller GmbH — 株式会社", "Müller GmbH — 株式会社"},
		"escape sequence":      {"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`},
		"carriage return":      {"ok\rFAIL", `ok\x0dFAIL`},
		"tab and newline":      {"a\tb\nc", `a\x09b\x0ac`},
		"delete":               {"a\x7fb", `a\x7fb`},
		"C1 control":           {"a\u009bb", `a\u{009b}b`},
		"bidi override":        {"abc\u202edcba", `abc\u{202e}dcba`},
		"not UTF-8":            {"a\xffb", `a\xffb`},
		"backslash is doubled": {`a\x1bb`, `a\\x1bb`},
	} {
		t.Run(name, func(t *testing.T) {
			if got := termsafe.String(tc.in); got != tc.want {
				t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzStringIsAlwaysPrintable(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[31m", "a\xffb", "\u202e", `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []byte(termsafe.String(s)) {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("String(%q) holds control byte %#x", s, c)
			}
		}
	})
}
