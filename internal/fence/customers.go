package fence

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Customers maps the token in a subject's {customer} place to the customer
// it bills, for subjects that do not carry the customer verbatim. The zero
// Customers (no table) makes the token itself the customer.
type Customers struct {
	exact map[string]string
	// prefixes are the rules "prefix*=before*after", longest prefix first:
	// a token starting with prefix bills before + the rest + after.
	prefixes []prefixRule
}

type prefixRule struct{ prefix, before, after string }

// ParseCustomers reads token=customer pairs separated by commas, such as
// acme=acme-inc,globex=globex-corp. A token ending in * is a prefix rule:
// t-*=* bills the rest of the token (t-acme bills acme), *=org-* bills
// org- and the token, and *=* lets any other token bill itself. An exact
// token wins over a prefix rule, and a longer prefix over a shorter one. A
// token that no pair matches bills no customer.
func ParseCustomers(s string) (Customers, error) {
	var c Customers
	if strings.TrimSpace(s) == "" {
		return c, nil
	}
	c.exact = map[string]string{}
	seen := map[string]bool{}
	for pair := range strings.SplitSeq(s, ",") {
		token, customer, ok := strings.Cut(pair, "=")
		token, customer = strings.TrimSpace(token), strings.TrimSpace(customer)
		if !ok || token == "" || customer == "" {
			return Customers{}, fmt.Errorf("pair %q is not token=customer", strings.TrimSpace(pair))
		}
		if seen[token] {
			return Customers{}, fmt.Errorf("token %q is mapped twice", token)
		}
		seen[token] = true
		if err := addPair(&c, token, customer); err != nil {
			return Customers{}, fmt.Errorf("pair %q %w", token+"="+customer, err)
		}
	}
	slices.SortFunc(c.prefixes, func(a, b prefixRule) int { return len(b.prefix) - len(a.prefix) })
	return c, nil
}

func addPair(c *Customers, token, customer string) error {
	prefix, isPrefix := strings.CutSuffix(token, "*")
	if err := checkToken(prefix, "braces are not allowed"); err != nil && prefix != "" {
		return err
	}
	stars := strings.Count(customer, "*")
	switch {
	case !isPrefix && stars > 0:
		return errors.New("has * in the customer but not at the end of the token: write prefix*=customer-*")
	case !isPrefix:
		c.exact[token] = customer
	case stars != 1:
		return errors.New("has a prefix rule whose customer does not hold one *, where the rest of the token goes")
	default:
		before, after, _ := strings.Cut(customer, "*")
		c.prefixes = append(c.prefixes, prefixRule{prefix: prefix, before: before, after: after})
	}
	return nil
}

// allows reports whether the token bills customer, without allocating.
func (c *Customers) allows(token, customer string) bool {
	if c.exact == nil {
		return token == customer
	}
	if want, ok := c.exact[token]; ok {
		return customer == want
	}
	r, ok := c.rule(token)
	if !ok {
		return false
	}
	rest := token[len(r.prefix):]
	return len(customer) == len(r.before)+len(rest)+len(r.after) &&
		strings.HasPrefix(customer, r.before) && strings.HasSuffix(customer, r.after) &&
		customer[len(r.before):len(r.before)+len(rest)] == rest
}

// lookup is the customer the token bills, if any.
func (c *Customers) lookup(token string) (string, bool) {
	if c.exact == nil {
		return token, true
	}
	if want, ok := c.exact[token]; ok {
		return want, true
	}
	r, ok := c.rule(token)
	if !ok {
		return "", false
	}
	return r.before + token[len(r.prefix):] + r.after, true
}

// rule is the prefix rule for token: the longest prefix it starts with.
// A rule never leaves an empty rest (t-* does not match the token t-).
func (c *Customers) rule(token string) (prefixRule, bool) {
	for _, r := range c.prefixes {
		if len(token) > len(r.prefix) && strings.HasPrefix(token, r.prefix) {
			return r, true
		}
	}
	return prefixRule{}, false
}
