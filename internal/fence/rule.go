// Package fence owns the binding rule that holds each event to the NATS
// subject it arrived on: the customer an event may bill (its CloudEvents
// subject), and optionally its source, follow from that subject through
// templates such as agent.runs.{customer} and an optional table from
// subject tokens to customers. NATS permissions decide who may publish
// where; the rule makes sure a producer fenced to its subjects bills only
// the customers they allow. It is pure: it never touches NATS, HTTP or a
// log, and the allowed path does not allocate.
package fence

import (
	"errors"
	"fmt"
	"strings"

	ce "github.com/cloudevents/sdk-go/v2/event"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
)

// ErrRefused marks an event whose customer or source the NATS subject it
// arrived on does not allow. Never worth a retry: the caller dead-letters
// the event (kind "fenced") with the error's text as the reason.
var ErrRefused = errors.New("fenced")

// The reasons of a Refusal, one word each, fit for a metric's label: a
// producer chooses the values, so they never become labels themselves.
const (
	RefusedCustomer   = "customer"    // the subject allows another customer
	RefusedSource     = "source"      // the subject binds another source
	RefusedUnmapped   = "unmapped"    // the customer table maps the token to none
	RefusedNoTemplate = "no_template" // the subject fits no template
)

// Refusal is the error of an event the fence refuses: it wraps ErrRefused
// and names its reason.
type Refusal struct {
	Reason string
	text   string
}

func (r *Refusal) Error() string { return r.text }
func (r *Refusal) Unwrap() error { return ErrRefused }

func refuse(reason, format string, args ...any) error {
	return &Refusal{Reason: reason, text: ErrRefused.Error() + ": " + fmt.Sprintf(format, args...)}
}

// Rule is a parsed binding rule. A nil *Rule allows every event. Safe for
// concurrent use.
type Rule struct {
	templates []Template
	customers Customers
	fill      bool
	// list names the templates in refusals.
	list string
}

// New builds the rule from parsed templates and the customer table. fill
// lets an event without a subject bill the customer its NATS subject
// allows. Templates that overlap make the first one win; configuration
// refuses them.
func New(templates []Template, customers Customers, fill bool) *Rule {
	names := make([]string, len(templates))
	for i, t := range templates {
		names[i] = t.text
	}
	return &Rule{templates: templates, customers: customers, fill: fill, list: strings.Join(names, ", ")}
}

// Check reports nil when an event billing customer, from source, may
// arrive on the NATS subject, else an error wrapping ErrRefused that names
// both values. An empty customer or source is not checked: the event rules
// refuse an event without them.
func (r *Rule) Check(subject, customer, source string) error {
	t, token, src := r.match(subject)
	if t == nil {
		return r.unbound(subject)
	}
	if source != "" && t.source >= 0 && source != src {
		return refuse(RefusedSource, "source %q is not allowed on %s, which %s binds to the source %q", source, subject, t.text, src)
	}
	if customer == "" || r.customers.allows(token, customer) {
		return nil
	}
	if want, ok := r.customers.lookup(token); ok {
		return refuse(RefusedCustomer, "subject %q is not allowed on %s, which bills only %q", customer, subject, want)
	}
	return refuse(RefusedUnmapped, "subject %q is not allowed on %s: BRIDGE_FENCE_CUSTOMERS maps %q to no customer", customer, subject, token)
}

// Customer is the customer the NATS subject allows, for an event that
// names none.
func (r *Rule) Customer(subject string) (string, error) {
	t, token, _ := r.match(subject)
	if t == nil {
		return "", r.unbound(subject)
	}
	c, ok := r.customers.lookup(token)
	if !ok {
		return "", refuse(RefusedUnmapped, "an event without subject on %s bills no customer: BRIDGE_FENCE_CUSTOMERS maps %q to no customer", subject, token)
	}
	return c, nil
}

// Admit says whether the NATS subject e arrived on allows its customer and
// source: nil, or an error wrapping ErrRefused. When e names no customer and
// the rule fills it in, e (which must be the caller's own, see
// event.FillSubject) is made to bill the customer the subject allows.
func (r *Rule) Admit(e *ce.Event, subject string) error {
	if r == nil {
		return nil
	}
	if e.Subject() == "" && r.fill {
		c, err := r.Customer(subject)
		if err != nil {
			return err
		}
		event.FillSubject(e, c)
	}
	src := ""
	if r.bindsSource() {
		src = event.Source(e)
	}
	return r.Check(subject, e.Subject(), src)
}

// Templates are the rule's templates, in order.
func (r *Rule) Templates() []Template { return r.templates }

func (r *Rule) match(subject string) (*Template, string, string) {
	for i := range r.templates {
		if c, s, ok := r.templates[i].match(subject); ok {
			return &r.templates[i], c, s
		}
	}
	return nil, "", ""
}

func (r *Rule) bindsSource() bool {
	for _, t := range r.templates {
		if t.source >= 0 {
			return true
		}
	}
	return false
}

func (r *Rule) unbound(subject string) error {
	return refuse(RefusedNoTemplate, "%s fits no template of BRIDGE_FENCE_SUBJECTS (%s), so it may bill no customer", subject, r.list)
}
