package event_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"

	"github.com/konnect-bridge/konnect-bridge/internal/event"
)

// periodFrom is a customer's billing period as a subscription would give it.
type periodFrom map[string]time.Time

func (p periodFrom) PeriodStart(customer string, _ time.Time) time.Time { return p[customer] }

func timed(t time.Time) *ce.Event {
	e := ce.New()
	e.SetSubject("acme-inc")
	if !t.IsZero() {
		e.SetTime(t)
	}
	return &e
}

// An event is held to BRIDGE_MAX_FUTURE ahead of the bridge's clock and to
// its customer's current billing period behind it; under the flag policy it
// is only counted, under deadletter refused with a reason that names the
// time, the bound and the setting.
func TestTimeBoundsFlagOrRefuseEventsOutsideTheBillingWindow(t *testing.T) {
	now := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		time       time.Time
		periods    event.Periods
		deadLetter bool
		want       event.Bound
		reason     []string
	}{
		"within the future bound":          {time: now.Add(4 * time.Minute), want: event.InTime},
		"a second past the future bound":   {time: now.Add(5*time.Minute + time.Second), want: event.Future},
		"a day ahead, flagged":             {time: now.Add(24 * time.Hour), want: event.Future},
		"a day ahead, dead-lettered":       {time: now.Add(24 * time.Hour), deadLetter: true, want: event.Future, reason: []string{"time 2026-12-04T19:00:00Z is 24h0m0s ahead of the bridge's clock, more than BRIDGE_MAX_FUTURE=5m0s; BRIDGE_TIME_POLICY=deadletter"}},
		"a month ahead, dead-lettered":     {time: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), deadLetter: true, want: event.Future, reason: []string{"time 2027-01-01T00:00:00Z is 28d ahead"}},
		"this month":                       {time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), want: event.InTime},
		"last month, flagged":              {time: time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC), want: event.Past},
		"last month, dead-lettered":        {time: time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC), deadLetter: true, want: event.Past, reason: []string{"time 2026-11-30T23:00:00Z is before 2026-12-01T00:00:00Z, the start of the customer's current billing period; BRIDGE_TIME_POLICY=deadletter"}},
		"inside the subscription's period": {time: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), periods: periodFrom{"acme-inc": time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)}, want: event.InTime},
		"before the subscription's period": {time: time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC), periods: periodFrom{"acme-inc": time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)}, deadLetter: true, want: event.Past, reason: []string{"before 2026-11-15T00:00:00Z"}},
		"no time, dead-letter policy":      {deadLetter: true, want: event.InTime},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := &event.TimeBounds{MaxFuture: 5 * time.Minute, Periods: c.periods, DeadLetter: c.deadLetter}
			got, err := b.At(now).Check(timed(c.time))
			if got != c.want {
				t.Fatalf("bound %s, want %s", got, c.want)
			}
			if c.reason == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, event.ErrOutOfTime) {
				t.Fatalf("error %v does not wrap ErrOutOfTime", err)
			}
			for _, r := range c.reason {
				if !strings.Contains(err.Error(), r) {
					t.Errorf("reason %q lacks %q", err, r)
				}
			}
		})
	}
}

// Bounds the bridge has not been given check nothing.
func TestNoTimeBoundsCheckNothing(t *testing.T) {
	var b *event.TimeBounds
	if got, err := b.At(time.Now()).Check(timed(time.Now().Add(1000 * time.Hour))); got != event.InTime || err != nil {
		t.Fatalf("got %s, %v", got, err)
	}
}

// Checking an event's time allocates nothing.
func TestTimeBoundsCheckAllocatesNothing(t *testing.T) {
	b := &event.TimeBounds{MaxFuture: 5 * time.Minute}
	e := timed(time.Now())
	if n := testing.AllocsPerRun(100, func() {
		c := b.At(time.Now())
		_, _ = c.Check(e)
	}); n != 0 {
		t.Fatalf("%v allocations per check", n)
	}
}
