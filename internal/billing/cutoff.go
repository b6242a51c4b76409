package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/consume"

	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/fence"
)

// Period-close findings: events not delivered yet (waiting in the stream
// above the bridge's ack floor, or dead-lettered) of a service period whose
// ingestion cutoff, period end plus the billing profile's collection
// interval, is within the warning horizon (closing) or past (missed).
const (
	PeriodClosing = "period_closing"
	PeriodMissed  = "period_missed"
)

// DefaultCollectionInterval is OpenMeter's default collection interval,
// taken when the billing profiles name none or cannot be read.
const DefaultCollectionInterval = "PT1H"

// Profile is a billing profile (the spec's BillingProfile), as far as the
// cutoff needs it.
type Profile struct {
	ID       string `json:"id"`
	Default  bool   `json:"default"`
	Workflow struct {
		Collection *struct {
			Interval string `json:"interval"`
		} `json:"collection,omitempty"`
	} `json:"workflow"`
}

// CollectionInterval is the default billing profile's collection interval,
// an ISO-8601 duration; DefaultCollectionInterval when it names none.
func (c *Client) CollectionInterval(ctx context.Context) (string, error) {
	profiles, err := listPages[Profile](ctx, c, "/openmeter/profiles", nil, "billing profiles")
	if err != nil {
		return DefaultCollectionInterval, err
	}
	if i := slices.IndexFunc(profiles, func(p Profile) bool { return p.Default }); i >= 0 {
		if col := profiles[i].Workflow.Collection; col != nil && col.Interval != "" {
			return col.Interval, nil
		}
	}
	return DefaultCollectionInterval, nil
}

// Undelivered is what the bridge has not delivered yet: the messages of
// its stream above its durable consumer's ack floor (waiting or in
// flight), and the dead letters.
type Undelivered struct {
	Stream Stream
	// Consumer is the durable consumer delivery reads through; "" reads
	// no messages of the stream.
	Consumer string
	// Letters, when set, are the dead letters (BRIDGE_DLQ_STREAM), those
	// Filter picks.
	Letters *deadletter.DeadLetters
	Filter  deadletter.Filter
	// Limit is the most messages, and the most dead letters, read.
	Limit int
}

// errEnough stops reading at the limit.
var errEnough = errors.New("enough")

// each calls fn for every undelivered event, with the dead letter it is in
// (nil: it waits in the stream). Left out: events that do not decode,
// those the fence refused (not the customer's to bill), and dead letters
// the bridge did not seal (forged or unsealed: replay refuses them too).
func (u Undelivered) each(ctx context.Context, fn func(e *ce.Event, letter *deadletter.Stored)) error {
	if u.Consumer != "" {
		if u.Stream.JS == nil {
			return errors.New("NATS is not reachable")
		}
		c, err := u.Stream.JS.Consumer(ctx, u.Stream.Name, u.Consumer)
		if err != nil {
			return fmt.Errorf("consumer %s of stream %s: %w", u.Consumer, u.Stream.Name, err)
		}
		err = u.Stream.Above(ctx, c.CachedInfo().AckFloor.Stream, u.Limit, func(rd Read) error {
			if rd.Err == nil {
				fn(rd.Event, nil) // one delivery will dead-letter counts once it is a dead letter
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if u.Letters == nil {
		return nil
	}
	n := 0
	err := u.Letters.Each(ctx, u.Filter, func(st deadletter.Stored) error {
		if n++; u.Limit > 0 && n > u.Limit {
			return errEnough
		}
		if st.Auth == deadletter.Forged || st.Auth == deadletter.Unsealed {
			return nil
		}
		raw := &nats.Msg{Subject: st.Subject, Header: st.Header, Data: st.Data}
		return consume.Deliverables(u.Stream.Rules, raw, func() string { return "" }, 0, st.Time, func(_ int, e *ce.Event, err error) error {
			if e != nil && !errors.Is(err, fence.ErrRefused) {
				fn(e, &st)
			}
			return nil
		})
	})
	if errors.Is(err, errEnough) {
		return nil
	}
	return err
}

// PeriodClose reads the undelivered events and says which of them miss,
// or will miss within warning, their service period's invoice. It reads
// Konnect's customers, their subscriptions (at most maxCustomers) and the
// billing profiles once; what it could not check is in cannot.
func (u Undelivered) PeriodClose(ctx context.Context, c *Client, warning time.Duration, maxCustomers int) (findings []Finding, cannot []string) {
	customers, err := c.Customers(ctx)
	if err != nil {
		return nil, []string{cannotCutoff(ctx, u, err)}
	}
	iv := newInvoicing(c, nil, customers, nil, false, maxCustomers)
	findings = u.periodClose(ctx, iv, warning)
	return findings, iv.cannot
}

// periodClose is PeriodClose with the customers and subscriptions of iv;
// what it cannot check it says to iv.
func (u Undelivered) periodClose(ctx context.Context, iv *invoicing, warning time.Duration) []Finding {
	cw := closeWatch{iv: iv, now: time.Now(), warning: warning, found: map[periodKey]*atRisk{}}
	if err := u.each(ctx, func(e *ce.Event, l *deadletter.Stored) { cw.note(ctx, e, l) }); err != nil {
		iv.say(fmt.Sprintf("cannot check the period cutoff of undelivered events: %v", err))
	}
	return cw.findings()
}

// cannotCutoff says that the cutoff of the undelivered events cannot be
// checked, since err kept the customers from being read.
func cannotCutoff(ctx context.Context, u Undelivered, err error) string {
	n, where := 0, "dead-lettered"
	if u.Consumer != "" {
		where = "in the stream above the ack floor, or dead-lettered"
	}
	_ = u.each(ctx, func(*ce.Event, *deadletter.Stored) { n++ })
	return fmt.Sprintf("the period cutoff of %d undelivered event(s) (%s) is not checked: %s", n, where, cannot("customers", err))
}

type periodKey struct {
	customer string
	end      time.Time
}

// atRisk is what is undelivered of one customer's period.
type atRisk struct {
	Finding
	subjects []string // the original subjects of its dead letters
}

// closeWatch sorts undelivered events by the service period holding their
// time, and keeps those of periods whose cutoff is near or past.
type closeWatch struct {
	iv      *invoicing
	now     time.Time
	warning time.Duration
	// interval is the collection interval, read at the first event of a
	// subscription; step adds it.
	interval string
	step     func(time.Time, int) time.Time
	found    map[periodKey]*atRisk
}

func (cw *closeWatch) note(ctx context.Context, e *ce.Event, letter *deadletter.Stored) {
	cust := CustomerOf(cw.iv.customers, e.Subject())
	if cust == nil {
		return // unattributed: on no invoice whenever it arrives
	}
	subs, ok := cw.iv.subscriptionsOf(ctx, *cust)
	if !ok {
		return
	}
	_, period, err := ServicePeriod(subs, e.Time())
	if errors.Is(err, ErrNoSubscription) {
		return // on no invoice whenever it arrives
	}
	if err != nil {
		cw.iv.say(fmt.Sprintf("cannot check the period cutoff of %s: %v", cust.Key, err))
		return
	}
	cutoff := cw.cutoff(ctx, period.Until)
	if cutoff.Sub(cw.now) > cw.warning {
		return
	}
	k := periodKey{cust.Key, period.Until}
	r := cw.found[k]
	if r == nil {
		kind := PeriodClosing
		if !cw.now.Before(cutoff) {
			kind = PeriodMissed
		}
		r = &atRisk{Finding: Finding{Kind: kind, Customer: cust.Key, Since: e.Time(), PeriodEnd: period.Until, Cutoff: cutoff, Example: e.ID()}}
		cw.found[k] = r
	}
	r.Events++
	r.Since = minTime(r.Since, e.Time())
	if letter == nil {
		r.Waiting++
		return
	}
	r.DeadLettered++
	if !slices.Contains(r.subjects, letter.Subject) {
		r.subjects = append(r.subjects, letter.Subject)
	}
}

// cutoff is when Konnect must have stored an event of the period ending
// at end: end plus the default billing profile's collection interval.
func (cw *closeWatch) cutoff(ctx context.Context, end time.Time) time.Time {
	if cw.step == nil {
		interval, err := cw.iv.client.CollectionInterval(ctx)
		if err != nil {
			cw.iv.say(cannot("billing profiles", err) + "; the period cutoff is taken as period end + " + DefaultCollectionInterval + ", OpenMeter's default")
		}
		step, perr := cadence(interval)
		if perr != nil {
			cw.iv.say(fmt.Sprintf("the default billing profile's collection interval %q is not an ISO-8601 duration: the period cutoff is taken as period end + %s", interval, DefaultCollectionInterval))
			interval = DefaultCollectionInterval
			step, _ = cadence(interval)
		}
		cw.interval, cw.step = interval, step
	}
	return cw.step(end, 1)
}

// findings are the periods at risk with the fix, the nearest cutoff first.
func (cw *closeWatch) findings() []Finding {
	var out []Finding
	for _, r := range cw.found {
		f := r.Finding
		f.Fix = cw.fix(*r)
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Finding) int { return a.Cutoff.Compare(b.Cutoff) })
	return out
}

// fix says what is at risk of one period, and what to do.
func (cw *closeWatch) fix(r atRisk) string {
	var parts []string
	if r.Waiting > 0 {
		parts = append(parts, fmt.Sprintf("%d wait in the stream (Konnect down, or the bridge behind? see /readyz and konnect_bridge_consumer_pending_messages)", r.Waiting))
	}
	if r.DeadLettered > 0 {
		subject := r.subjects[0]
		if len(r.subjects) > 1 {
			subject += fmt.Sprintf(" (and %d more subjects)", len(r.subjects)-1)
		}
		parts = append(parts, fmt.Sprintf("%d dead-lettered (bridge dlq list --original-subject %s, then bridge dlq replay once the cause is fixed)", r.DeadLettered, subject))
	}
	head := fmt.Sprintf("%d event(s) of the period ending %s for %s", r.Events, r.PeriodEnd.UTC().Format(time.RFC3339), r.Customer)
	cut := fmt.Sprintf("cutoff %s: period end + collection interval %s", r.Cutoff.UTC().Format(time.RFC3339), cw.interval)
	if r.Kind == PeriodMissed {
		return fmt.Sprintf("%s missed its invoice (%s, passed %s ago): %s; delivered now, they are metered but on no invoice of that period",
			head, cut, minutes(cw.now.Sub(r.Cutoff)), strings.Join(parts, ", "))
	}
	return fmt.Sprintf("%s will miss its invoice in %s (%s): %s", head, minutes(r.Cutoff.Sub(cw.now)), cut, strings.Join(parts, ", "))
}

// minutes is d for a reader, to the minute ("40m", "1h20m"); under a
// minute, "<1m".
func minutes(d time.Duration) string {
	if d < time.Minute {
		return "<1m"
	}
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
