package event

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// ErrOutOfTime marks an event timed outside the bounds the bridge holds
// events to (BRIDGE_MAX_FUTURE ahead, the customer's current billing period
// behind) under BRIDGE_TIME_POLICY=deadletter: Konnect would store it, but
// it would bill in a period nobody invoices yet, or in one already closed.
var ErrOutOfTime = errors.New("event time out of bounds")

// Bound is which of the time bounds an event breaks.
type Bound uint8

// The bounds; InTime breaks none.
const (
	InTime Bound = iota
	Future
	Past
)

// String is the bound as the metric's label names it.
func (b Bound) String() string {
	switch b {
	case Future:
		return "future"
	case Past:
		return "past"
	}
	return "in_time"
}

// Periods tells when a customer's current billing period started, as of
// now. An event timed before it bills in a period that is, or soon will be,
// closed.
type Periods interface {
	PeriodStart(customer string, now time.Time) time.Time
}

// CalendarMonth is the period every customer has until the bridge reads
// subscriptions: the calendar month, UTC, the cycle Konnect anchors on the
// 1st of the month.
type CalendarMonth struct{}

// PeriodStart is the first instant of now's month, UTC.
func (CalendarMonth) PeriodStart(_ string, now time.Time) time.Time {
	y, m, _ := now.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// TimeBounds are the bounds events are held to and what is done with an
// event outside them. Periods nil is CalendarMonth.
type TimeBounds struct {
	MaxFuture  time.Duration
	Periods    Periods
	DeadLetter bool
}

// Clock is the bounds as of one reading of the bridge's clock, taken once
// per message, so that checking an event is one or two time comparisons.
type Clock struct {
	b      *TimeBounds
	now    time.Time
	latest time.Time
	// start is the calendar month's start when b.Periods is nil.
	start time.Time
}

// At reads the bounds as of now. The zero Clock (b nil) checks nothing.
func (b *TimeBounds) At(now time.Time) Clock {
	if b == nil {
		return Clock{}
	}
	c := Clock{b: b, now: now, latest: now.Add(b.MaxFuture)}
	if b.Periods == nil {
		c.start = CalendarMonth{}.PeriodStart("", now)
	}
	return c
}

// Check reports the bound e's time breaks and, when the policy is to
// dead-letter, an error wrapping ErrOutOfTime that names the event's time,
// the bound and the setting. An event without a time breaks none.
func (c Clock) Check(e *ce.Event) (Bound, error) {
	if c.b == nil {
		return InTime, nil
	}
	t := e.Time()
	if t.IsZero() {
		return InTime, nil
	}
	if t.After(c.latest) {
		return Future, c.refuse(Future, t, time.Time{})
	}
	start := c.start
	if c.b.Periods != nil {
		start = c.b.Periods.PeriodStart(e.Subject(), c.now)
	}
	if t.Before(start) {
		return Past, c.refuse(Past, t, start)
	}
	return InTime, nil
}

func (c Clock) refuse(b Bound, t, start time.Time) error {
	if !c.b.DeadLetter {
		return nil
	}
	ts := t.UTC().Format(time.RFC3339Nano)
	if b == Future {
		return fmt.Errorf("%w: time %s is %s ahead of the bridge's clock, more than BRIDGE_MAX_FUTURE=%s; BRIDGE_TIME_POLICY=deadletter",
			ErrOutOfTime, ts, span(t.Sub(c.now)), c.b.MaxFuture)
	}
	return fmt.Errorf("%w: time %s is before %s, the start of the customer's current billing period; BRIDGE_TIME_POLICY=deadletter",
		ErrOutOfTime, ts, start.UTC().Format(time.RFC3339))
}

// span is d for a reader: whole days from two days on, else to the second.
func span(d time.Duration) string {
	if d >= 48*time.Hour {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.Round(time.Second).String()
}
