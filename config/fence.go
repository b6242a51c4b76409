package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/konnect-bridge/konnect-bridge/internal/fence"
)

// Fence binds the customer an event may bill (and optionally its source)
// to the NATS subject it arrived on. Empty Subjects: off.
type Fence struct {
	// Subjects are templates such as agent.runs.{customer}, comma
	// separated.
	Subjects string
	// Customers maps subject tokens to customers: acme=acme-inc,t-*=*.
	Customers string
	// FillSubject lets an event without subject bill the customer its
	// NATS subject allows.
	FillSubject bool
}

// Rule is the parsed binding rule, nil when the fence is off. Errors name
// the setting.
func (f Fence) Rule() (*fence.Rule, error) {
	if f.Subjects == "" {
		return nil, nil
	}
	var errs []error
	ts, err := fence.ParseTemplates(f.Subjects)
	if err != nil {
		errs = append(errs, fmt.Errorf("BRIDGE_FENCE_SUBJECTS: %w: use templates such as agent.runs.{customer}, comma separated", err))
	}
	cs, err := fence.ParseCustomers(f.Customers)
	if err != nil {
		errs = append(errs, fmt.Errorf("BRIDGE_FENCE_CUSTOMERS %q: %w: use token=customer pairs such as acme=acme-inc,globex=globex-corp", f.Customers, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return fence.New(ts, cs, f.FillSubject), nil
}

// checkFence reports a rule that cannot be parsed, and templates that do
// not fit the consumed subjects: one that no consumed subject captures is
// a typo, a consumed subject that no template matches would refuse every
// event on it, and two templates that match the same subject are
// ambiguous.
func checkFence(c Config) error {
	f := c.Fence
	if f.Subjects == "" {
		if f.Customers != "" || f.FillSubject {
			return errors.New("BRIDGE_FENCE_CUSTOMERS or BRIDGE_FENCE_FILL_SUBJECT is set but BRIDGE_FENCE_SUBJECTS is empty, so nothing is fenced: set BRIDGE_FENCE_SUBJECTS to templates such as agent.runs.{customer}")
		}
		return nil
	}
	rule, err := f.Rule()
	if err != nil {
		return err
	}
	ts := rule.Templates()
	consumed := []struct{ name, subject string }{{"BRIDGE_SUBJECT", c.Bridge.Subject}}
	if c.Bridge.CoreSubject != "" {
		consumed = append(consumed, struct{ name, subject string }{"BRIDGE_CORE_SUBJECT", c.Bridge.CoreSubject})
	}
	var errs []error
	var names []string
	for _, s := range consumed {
		names = append(names, fmt.Sprintf("%s %q", s.name, s.subject))
	}
	for i, t := range ts {
		fits := false
		for _, s := range consumed {
			fits = fits || SubjectCovers(s.subject, t.Pattern())
		}
		if !fits {
			errs = append(errs, fmt.Errorf("BRIDGE_FENCE_SUBJECTS template %q does not fit %s: the bridge reads no subject it matches; write it inside them, such as %s", t, strings.Join(names, " or "), example(c.Bridge.Subject)))
		}
		for _, u := range ts[:i] {
			if subjectsOverlap(t.Pattern(), u.Pattern()) {
				errs = append(errs, fmt.Errorf("BRIDGE_FENCE_SUBJECTS templates %q and %q match the same subjects, so which customer a subject allows would be ambiguous: make them differ in a literal token or in length", u, t))
			}
		}
	}
	for _, s := range consumed {
		matched := false
		for _, t := range ts {
			matched = matched || subjectsOverlap(s.subject, t.Pattern())
		}
		if !matched {
			errs = append(errs, fmt.Errorf("%s %q: no template of BRIDGE_FENCE_SUBJECTS %q matches its subjects, so every event on them would be refused: add a template for them, such as %s", s.name, s.subject, f.Subjects, example(s.subject)))
		}
	}
	return errors.Join(errs...)
}

// example is a template for the consumed subjects: their literal tokens,
// then {customer}.
func example(subject string) string {
	var literal []string
	for t := range strings.SplitSeq(subject, ".") {
		if t == "*" || t == ">" {
			break
		}
		literal = append(literal, t)
	}
	return strings.Join(append(literal, "{customer}"), ".")
}
