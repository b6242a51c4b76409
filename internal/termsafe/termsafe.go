// Package termsafe escapes text that a producer or a remote server
// controls before it reaches an operator's terminal: an escape sequence in
// a payload or a reason must be shown, never obeyed. It does no I/O.
package termsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String is s with every byte or rune a terminal would act on written as
// an escape: control characters (ESC, CR, BEL, tab, ...) as \xNN, other
// non-printable runes (bidirectional overrides, zero-width formats) as
// \u{NNNN}, and bytes that are not UTF-8 as \xNN. A backslash is doubled,
// so that an escape shown is never mistaken for one in the text. Printable
// text comes back unchanged, without allocating.
func String(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x80 && !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\u{%04x}`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Bytes is String of b.
func Bytes(b []byte) string { return String(string(b)) }

func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}
