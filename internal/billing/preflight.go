package billing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Finding kinds.
const (
	UnmeteredType       = "unmetered_type"
	UnresolvedProperty  = "unresolved_property"
	UnattributedSubject = "unattributed_subject"
)

// DefaultType is the event type the bridge is built for; it is checked
// even before any event was seen.
const DefaultType = "agent_run"

// Finding is usage no invoice will show, and the fix.
type Finding struct {
	Kind     string    `json:"kind"`
	Type     string    `json:"type,omitempty"`
	Meter    string    `json:"meter,omitempty"`
	Property string    `json:"property,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Customer string    `json:"customer,omitempty"`
	Events   int       `json:"events"`
	Since    time.Time `json:"since,omitzero"`
	// Until is the time of the last such event, where it is a time range.
	Until   time.Time `json:"until,omitzero"`
	Example string    `json:"example_id,omitempty"`
	// PeriodEnd and Cutoff, of a period-close finding: the end of the
	// service period the events belong to, and when Konnect must have
	// stored them to be on its invoice (period end + collection interval).
	PeriodEnd time.Time `json:"period_end,omitzero"`
	Cutoff    time.Time `json:"cutoff,omitzero"`
	// Waiting and DeadLettered split a period-close finding's Events:
	// still in the stream (pending or in flight), or dead-lettered.
	Waiting      int    `json:"waiting,omitempty"`
	DeadLettered int    `json:"dead_lettered,omitempty"`
	Fix          string `json:"fix"`
}

// Report is what one preflight found.
type Report struct {
	CheckedAt time.Time `json:"checked_at"`
	Window    Window    `json:"-"`
	// Events read from the stream in the window.
	Events   int       `json:"events"`
	Findings []Finding `json:"findings"`
	// CannotCheck says what could not be checked and why (a token that may
	// not read meters or customers, say).
	CannotCheck []string `json:"cannot_check,omitempty"`
	// Untracked counts events whose subject or type was past the limit of
	// subjects remembered.
	Untracked int `json:"untracked_events,omitempty"`
}

// OK is true when everything was checked and nothing found.
func (r Report) OK() bool { return len(r.Findings) == 0 && len(r.CannotCheck) == 0 }

// Count is how many findings are of kind.
func (r Report) Count(kind string) int {
	n := 0
	for _, f := range r.Findings {
		if f.Kind == kind {
			n++
		}
	}
	return n
}

// Preflight checks what Konnect will bill of the events in the stream: a
// meter for each event type, meter properties that resolve on the events'
// data, a customer for each subject, and a subscription of that customer
// active at each event's time.
type Preflight struct {
	Client *Client
	Stream Stream
	// Cache keeps subscriptions and the catalog across checks; nil reads
	// them afresh for this one.
	Cache *Cache
	// Undelivered, when set, is checked against the ingestion cutoff of
	// the service periods its events belong to: period_closing when the
	// cutoff is at most Warning away, period_missed when it passed.
	Undelivered *Undelivered
	Warning     time.Duration
}

// Check reads the events stored in w (at most newest messages when > 0),
// adds them to seen, and checks everything seen against Konnect's meters
// and customers. Whatever it cannot read goes to CannotCheck; it never
// fails.
func (p Preflight) Check(ctx context.Context, seen *Seen, w Window, newest uint64) Report {
	r := Report{CheckedAt: time.Now().UTC(), Window: w, Findings: []Finding{}}
	meters, merr := p.Client.Meters(ctx)
	if merr != nil {
		r.CannotCheck = append(r.CannotCheck, cannot("meters", merr))
	}
	customers, cerr := p.Client.Customers(ctx)
	if cerr != nil {
		r.CannotCheck = append(r.CannotCheck, cannot("customers", cerr))
	}
	if cerr != nil && p.Undelivered != nil {
		r.CannotCheck = append(r.CannotCheck, cannotCutoff(ctx, *p.Undelivered, cerr))
	}
	if merr != nil && cerr != nil {
		return r // nothing to check the events against
	}
	props := propertyCheck{}
	var iv *invoicing
	if cerr == nil {
		if p.Cache != nil {
			p.Cache.startCheck()
		}
		iv = newInvoicing(p.Client, p.Cache, customers, meters, merr == nil, seen.max)
	}
	err := p.Stream.Read(ctx, w, newest, func(rd Read) error {
		if rd.Err != nil {
			return nil
		}
		r.Events++
		seen.add(rd.Event, rd.Stored)
		props.check(meters, rd)
		if iv != nil {
			iv.note(ctx, rd.Event.Type(), rd.Event.Subject(), rd.Event.Time(), rd.Event.ID())
		}
		return nil
	})
	if err != nil {
		r.CannotCheck = append(r.CannotCheck, fmt.Sprintf("cannot check the events: %v", err))
	}
	r.Untracked = seen.Untracked
	if merr == nil {
		r.Findings = append(r.Findings, unmetered(meters, seen)...)
		r.Findings = append(r.Findings, props.findings()...)
	}
	if cerr == nil {
		r.Findings = append(r.Findings, unattributed(customers, seen)...)
		r.Findings = append(r.Findings, iv.findings()...)
		if p.Undelivered != nil {
			r.Findings = append(r.Findings, p.Undelivered.periodClose(ctx, iv, p.Warning)...)
		}
		r.CannotCheck = append(r.CannotCheck, iv.cannot...)
		if iv.skipped > 0 {
			r.CannotCheck = append(r.CannotCheck, fmt.Sprintf("%d events of customers whose subscriptions this check did not read (at most %d reads a check, BRIDGE_BILLING_CHECK): the next checks read them", iv.skipped, iv.cache.budget))
		}
	}
	return r
}

func cannot(what string, err error) string {
	if errors.Is(err, ErrNoReadRights) || errors.Is(err, ErrNoReadAPI) {
		return err.Error()
	}
	return fmt.Sprintf("cannot check the %s: %v", what, err)
}

// unmetered: event types seen (agent_run when none was) that no meter counts.
func unmetered(meters []Meter, seen *Seen) []Finding {
	types := seen.Types
	if len(types) == 0 {
		types = map[string]*Sighting{DefaultType: {}}
	}
	var out []Finding
	for typ, x := range types {
		if slices.ContainsFunc(meters, func(m Meter) bool { return m.EventType == typ }) {
			continue
		}
		out = append(out, Finding{Kind: UnmeteredType, Type: typ, Events: x.Events, Since: x.First,
			Fix: fmt.Sprintf("create a meter with event type `%s` (for example a count, with the dimension agent_name)", typ)})
	}
	return sortFindings(out)
}

// unattributed: subjects seen that no customer is billed for, by the one
// attribution rule (its key or a subject key).
func unattributed(customers []Customer, seen *Seen) []Finding {
	var out []Finding
	for subject, x := range seen.Subjects {
		if CustomerOf(customers, subject) != nil {
			continue
		}
		out = append(out, Finding{Kind: UnattributedSubject, Subject: subject, Events: x.Events, Since: x.First,
			Fix: fmt.Sprintf("create a customer with subject key `%s` (or add it to an existing customer's usage attribution)", subject)})
	}
	return sortFindings(out)
}

// sortFindings puts the most events first.
func sortFindings(f []Finding) []Finding {
	slices.SortFunc(f, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.Subject+a.Type, b.Subject+b.Type))
	})
	return f
}

// propertyCheck counts, per meter property, the events it does not resolve
// on. It holds one entry per meter property, whatever the events.
type propertyCheck map[[2]string]*Finding

func (pc propertyCheck) check(meters []Meter, rd Read) {
	e := rd.Event
	for _, m := range meters {
		if m.EventType != e.Type() {
			continue
		}
		if m.ValueProperty != "" && m.Aggregation != "count" {
			pc.note(m, "value_property", m.ValueProperty, rd, valueProblem(m, e.Data()))
		}
		for name, path := range m.Dimensions {
			_, ok, err := resolve(path, e.Data())
			problem := ""
			if err != nil {
				problem = err.Error()
			} else if !ok {
				problem = "does not resolve"
			}
			pc.note(m, "dimensions."+name, path, rd, problem)
		}
	}
}

func (pc propertyCheck) note(m Meter, property, path string, rd Read, problem string) {
	if problem == "" {
		return
	}
	k := [2]string{m.Key, property}
	f := pc[k]
	if f == nil {
		f = &Finding{Kind: UnresolvedProperty, Type: m.EventType, Meter: m.Key, Property: property, Since: rd.Stored, Example: rd.Event.ID(),
			Fix: fmt.Sprintf("%s %s of meter `%s` %s on these events' data: fix the meter's JSONPath or what producers send", property, path, m.Key, problem)}
		pc[k] = f
	}
	f.Events++
}

func (pc propertyCheck) findings() []Finding {
	var out []Finding
	for _, f := range pc {
		out = append(out, *f)
	}
	return sortFindings(out)
}

// valueProblem says why a meter's value_property gives no value it can
// aggregate on data, or "".
func valueProblem(m Meter, data []byte) string {
	v, ok, err := resolve(m.ValueProperty, data)
	switch {
	case err != nil:
		return err.Error()
	case !ok:
		return "does not resolve"
	}
	s, isString := v.(string)
	switch {
	case m.Aggregation == "unique_count" && !isString:
		return "is not a string (unique_count counts strings)"
	case m.Aggregation == "unique_count":
		return ""
	case isString:
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "is not a number"
		}
	default:
		if _, num := v.(float64); !num {
			return "is not a number"
		}
	}
	return ""
}
