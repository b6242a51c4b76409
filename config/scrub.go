package config

import (
	"encoding/json"
	"html/template"
	"io"
	"net/url"
	"strings"
)

// Scrubber removes the configuration's secrets from text, in every form
// they may take there: the tokens and passwords, and the user information,
// query and fragment of KONNECT_URL and of each NATS_URL, as given, URL
// escaped, escaped for JSON and for HTML. It is the last line of defence
// behind RedactURL, for text the bridge did not write itself (an error of
// net/http or nats.go, which may rewrite a URL, for instance masking its
// password so that it no longer matches the URL configured). Safe for
// concurrent use.
type Scrubber struct{ r *strings.Replacer }

// Redacted is what a secret is replaced with.
const Redacted = "[redacted]"

// Scrubber returns the scrubber of c's secrets.
func (c Config) Scrubber() *Scrubber {
	var secrets []string
	add := func(min int, vs ...string) {
		for _, v := range vs {
			if len(v) >= min {
				secrets = append(secrets, v)
			}
		}
	}
	// Shorter values are too common in text to replace, and no secret.
	add(3, c.Konnect.Token.Reveal(), c.NATS.Token.Reveal(), c.NATS.Password.Reveal(), c.Bridge.AdminToken.Reveal(), c.Bridge.DLQKey.Reveal())
	for _, s := range c.contextSecrets {
		add(3, s.Reveal())
	}
	for _, raw := range append(strings.Split(c.NATS.URL, ","), c.Konnect.URL) {
		add(3, urlSecrets(strings.TrimSpace(raw))...)
	}
	var pairs []string
	seen := map[string]bool{}
	for _, s := range secrets {
		for _, form := range forms(s) {
			if !seen[form] {
				seen[form] = true
				pairs = append(pairs, form, Redacted)
			}
		}
	}
	// strings.Replacer prefers the earliest match, then the first pair:
	// longer secrets first, so that one holding another goes whole.
	sortByLength(pairs)
	return &Scrubber{r: strings.NewReplacer(pairs...)}
}

// urlSecrets are the parts of a URL that may carry credentials.
func urlSecrets(raw string) []string {
	rest := raw
	if _, r, ok := strings.Cut(raw, "://"); ok {
		rest = r
	}
	var out []string
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user := rest[:at]
		out = append(out, user)
		if _, pw, ok := strings.Cut(user, ":"); ok {
			out = append(out, pw)
		}
		rest = rest[at+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		out = append(out, rest[i+1:])
		if q, err := url.ParseQuery(strings.SplitN(rest[i+1:], "#", 2)[0]); err == nil {
			for _, vs := range q {
				for _, v := range vs {
					if len(v) >= 4 {
						out = append(out, v)
					}
				}
			}
		}
		if _, frag, ok := strings.Cut(rest, "#"); ok {
			out = append(out, frag)
		}
	}
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		out = append(out, u.User.Username(), pw)
	}
	return out
}

// forms are the ways a secret may appear in text.
func forms(s string) []string {
	out := []string{s, url.QueryEscape(s), url.PathEscape(s), template.HTMLEscapeString(s)}
	if u, err := url.QueryUnescape(s); err == nil {
		out = append(out, u)
	}
	if b, err := json.Marshal(s); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	return out
}

func sortByLength(pairs []string) {
	for i := 2; i < len(pairs); i += 2 {
		for j := i; j >= 2 && len(pairs[j]) > len(pairs[j-2]); j -= 2 {
			pairs[j], pairs[j-2] = pairs[j-2], pairs[j]
			pairs[j+1], pairs[j-1] = pairs[j-1], pairs[j+1]
		}
	}
}

// String returns text without the secrets.
func (s *Scrubber) String(text string) string {
	if s == nil {
		return text
	}
	return s.r.Replace(text)
}

// Writer writes through to w without the secrets. Each Write is scrubbed
// on its own, which suits writers that get whole lines (zerolog, fmt).
func (s *Scrubber) Writer(w io.Writer) io.Writer { return scrubWriter{s: s, w: w} }

type scrubWriter struct {
	s *Scrubber
	w io.Writer
}

func (sw scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(sw.w, sw.s.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
