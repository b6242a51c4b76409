package fence

import (
	"errors"
	"fmt"
	"strings"
)

// Placeholders a template may hold, each as a whole token.
const (
	customerToken = "{customer}"
	sourceToken   = "{source}"
)

// Template is one parsed subject template, such as agent.runs.{customer}
// or agent.runs.{source}.{customer}: literal tokens, one {customer} token
// and at most one {source} token.
type Template struct {
	text   string
	tokens []string
	// customer and source are the places of the placeholders; source is
	// -1 when the template does not bind the source.
	customer, source int
}

// String is the template as written.
func (t Template) String() string { return t.text }

// Pattern is the NATS subject pattern the template matches: its
// placeholders as *.
func (t Template) Pattern() string {
	p := make([]string, len(t.tokens))
	for i, tok := range t.tokens {
		p[i] = tok
		if i == t.customer || i == t.source {
			p[i] = "*"
		}
	}
	return strings.Join(p, ".")
}

// ParseTemplates reads templates separated by commas. Each has exactly one
// {customer} token, at most one {source} token, and literal tokens without
// wildcards: a template says which subjects bind a customer, exactly.
func ParseTemplates(s string) ([]Template, error) {
	var out []Template
	for text := range strings.SplitSeq(s, ",") {
		t, err := parseTemplate(strings.TrimSpace(text))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func parseTemplate(text string) (Template, error) {
	t := Template{text: text, customer: -1, source: -1}
	if text == "" {
		return t, errors.New("has an empty template")
	}
	t.tokens = strings.Split(text, ".")
	for i, tok := range t.tokens {
		var err error
		switch {
		case tok == customerToken && t.customer >= 0:
			err = errors.New("has {customer} twice")
		case tok == customerToken:
			t.customer = i
		case tok == sourceToken && t.source >= 0:
			err = errors.New("has {source} twice")
		case tok == sourceToken:
			t.source = i
		case strings.HasPrefix(tok, "{") && strings.HasSuffix(tok, "}"):
			err = fmt.Errorf("has the unknown placeholder %s (there are {customer} and {source})", tok)
		default:
			err = checkToken(tok, "a placeholder must be a whole token, such as agent.runs.{customer}")
		}
		if err != nil {
			return t, fmt.Errorf("template %q %w", text, err)
		}
	}
	if t.customer < 0 {
		return t, fmt.Errorf("template %q has no {customer} token", text)
	}
	return t, nil
}

// checkToken reports why tok cannot be a literal token of a subject.
func checkToken(tok, braces string) error {
	switch {
	case tok == "":
		return errors.New("has an empty token")
	case tok == "*" || tok == ">" || strings.ContainsAny(tok, "*>"):
		return errors.New("has a wildcard: a template names its subjects exactly, with {customer} where the customer goes")
	case strings.Contains(tok, "."):
		return errors.New("has a dot: a token is one part of a subject, between dots")
	case strings.ContainsAny(tok, " \t\r\n"):
		return errors.New("contains white space")
	case strings.ContainsAny(tok, "{}"):
		return errors.New("has a brace inside a token: " + braces)
	}
	return nil
}

// match reports whether subject fits t, and the tokens in the places of
// {customer} and {source} (source is "" when t does not bind it). It does
// not allocate.
func (t *Template) match(subject string) (customer, source string, ok bool) {
	rest, more := subject, true
	for i, want := range t.tokens {
		if !more {
			return "", "", false
		}
		tok := rest
		if j := strings.IndexByte(rest, '.'); j >= 0 {
			tok, rest = rest[:j], rest[j+1:]
		} else {
			more = false
		}
		switch {
		case tok == "":
			return "", "", false
		case i == t.customer:
			customer = tok
		case i == t.source:
			source = tok
		case tok != want:
			return "", "", false
		}
	}
	return customer, source, !more
}
