package billing

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Deliveries reads what the bridge did with a customer's events: the
// stream as delivery reads it, the durable consumer's ack floor and the
// dead letters.
type Deliveries struct {
	Stream Stream
	// AckFloor is the durable consumer's ack floor: events of messages
	// above it are still in flight.
	AckFloor uint64
	// DeadLetter, when set, finds the dead letter of event index of the
	// message of stream sequence seq (see Reconciler.DeadLetter): a
	// delivered event Konnect refused.
	DeadLetter func(ctx context.Context, seq uint64, index int) (reason string, found bool, err error)
}

// Delivered is what the bridge did with the events of one customer that
// one meter counts, stored in the stream from a line's period on.
type Delivered struct {
	// Quantity is what the meter counts of the delivered events timed in
	// the period: their number, or for a sum the sum of their values.
	Quantity float64 `json:"quantity"`
	Events   int     `json:"events"`
	// BeforeSubscription: timed before the subscription's active_from, on
	// no invoice, whenever they were sent.
	BeforeSubscription Outcome `json:"before_subscription"`
	// BeforePeriod: timed in an earlier service period, on its invoice.
	BeforePeriod Outcome `json:"before_period"`
	// DeadLettered: dead-lettered by the bridge, or refused by Konnect.
	DeadLettered Outcome `json:"dead_lettered"`
	// InFlight: timed in the period, not yet acknowledged by the bridge.
	InFlight Outcome `json:"in_flight"`
	// InFlightQuantity is what the meter will count of them.
	InFlightQuantity float64 `json:"in_flight_quantity"`
	// Duplicates: the (source, id) of an earlier event; Konnect keeps one.
	Duplicates Outcome `json:"duplicates"`
}

// Agrees reports whether Konnect's quantity is the delivered one, or more
// by no more than what is still in flight.
func (d Delivered) Agrees(konnect float64) bool {
	return konnect >= d.Quantity && konnect <= d.Quantity+d.InFlightQuantity
}

// For counts the events of the stream stored from w.From on whose subject
// cust is billed for and whose type m counts, by their time: in w, before
// the subscription started at activeFrom, or in an earlier period.
func (ds Deliveries) For(ctx context.Context, cust Customer, activeFrom time.Time, m Meter, w Window) (Delivered, error) {
	var d Delivered
	seen := map[eventKey]bool{}
	err := ds.Stream.Read(ctx, Window{From: w.From}, 0, func(rd Read) error {
		e := rd.Event
		if e == nil || e.Type() != m.EventType || !cust.Attributes(e.Subject()) {
			return nil
		}
		x := Example{ID: e.ID(), Source: e.Source(), Subject: e.Subject(), Time: e.Time(), Sequence: rd.Sequence, index: rd.Index}
		switch {
		case !w.Until.IsZero() && !x.Time.Before(w.Until):
			return nil // a later period's
		case rd.Err != nil:
			x.Detail = rd.Err.Error()
			d.DeadLettered.add(x)
			return nil
		case x.Time.Before(activeFrom):
			d.BeforeSubscription.add(x)
			return nil
		case x.Time.Before(w.From):
			d.BeforePeriod.add(x)
			return nil
		}
		k := eventKey{x.Source, x.ID}
		if seen[k] {
			d.Duplicates.add(x)
			return nil
		}
		seen[k] = true
		v, err := meterValue(m, rd)
		if err != nil {
			return err
		}
		if rd.Sequence > ds.AckFloor {
			d.InFlight.add(x)
			d.InFlightQuantity += v
			return nil
		}
		if ds.DeadLetter != nil {
			reason, found, err := ds.DeadLetter(ctx, rd.Sequence, rd.Index)
			if err != nil {
				return err
			}
			if found {
				x.Detail = reason
				d.DeadLettered.add(x)
				return nil
			}
		}
		d.Events++
		d.Quantity += v
		return nil
	})
	return d, err
}

// meterValue is what m counts of the event: 1 for a count, the value at
// the meter's value property for a sum (0 when it has none, as Konnect
// counts it).
func meterValue(m Meter, rd Read) (float64, error) {
	switch m.Aggregation {
	case "count":
		return 1, nil
	case "sum":
		v, ok, err := resolve(m.ValueProperty, rd.Event.Data())
		if err != nil || !ok {
			return 0, err
		}
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			return 0, nil
		}
		return f, nil
	}
	return 0, fmt.Errorf("meter %s aggregates with %s: the bridge compares only count and sum meters with what it delivered", m.Key, m.Aggregation)
}
