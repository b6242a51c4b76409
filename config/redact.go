package config

import "strings"

// RedactURL returns a URL, or a comma-separated list of them such as
// NATS_URL, fit to print: user information (a user and password, or a
// token, before an @) becomes "redacted@", and the query and fragment, which
// may carry credentials, are dropped. Everything up to the last @ counts as
// user information, so that a password holding a / ? or # never shows; an @
// in a path or query costs some of the URL's text, never a secret.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}

func redactOne(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	}
	user := false
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest, user = rest[at+1:], true
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	if user {
		rest = "redacted@" + rest
	}
	if ok {
		return scheme + "://" + rest
	}
	return rest
}
