package config

import (
	"errors"
	"strings"
)

// CheckSubject reports why s is not a NATS subject; wildcards only where
// allowed, and ">" only as the last token.
func CheckSubject(s string, wildcards bool) error {
	if s == "" {
		return errors.New("is empty")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return errors.New("contains white space")
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return errors.New("has an empty token")
		case t == "*" || t == ">":
			if !wildcards {
				return errors.New("has a wildcard")
			}
			if t == ">" && i != len(tokens)-1 {
				return errors.New(`has ">" before its last token`)
			}
		case strings.ContainsAny(t, "*>"):
			return errors.New("mixes a wildcard into a token")
		}
	}
	return nil
}

// SubjectMatches reports whether the literal subject is one of those the
// pattern (which may hold * and >) captures.
func SubjectMatches(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, t := range p {
		if t == ">" {
			return len(s) > i
		}
		if i >= len(s) || (t != "*" && t != s[i]) {
			return false
		}
	}
	return len(p) == len(s)
}

// subjectsOverlap reports whether some subject is captured by both patterns.
func subjectsOverlap(a, b string) bool {
	x, y := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] == ">" || y[i] == ">" {
			return true
		}
		if x[i] != "*" && y[i] != "*" && x[i] != y[i] {
			return false
		}
	}
	return len(x) == len(y)
}

// SubjectCovers reports whether every subject that sub captures is also
// captured by pattern (both may hold wildcards).
func SubjectCovers(pattern, sub string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(sub, ".")
	for i, t := range p {
		if t == ">" {
			return len(s) > i
		}
		if i >= len(s) || s[i] == ">" || (t != "*" && (s[i] == "*" || t != s[i])) {
			return false
		}
	}
	return len(p) == len(s)
}
