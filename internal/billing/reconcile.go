package billing

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"
)

// ChunkEvents is the most stream events a reconciliation holds at once
// (a few MB): the window is compared with Konnect chunk by chunk, each
// chunk against the stored events of its own span of event times.
const ChunkEvents = 10_000

// exampleLimit is how many examples of each outcome a report keeps.
const exampleLimit = 5

// Example is one event of an outcome.
type Example struct {
	ID       string    `json:"id"`
	Source   string    `json:"source"`
	Subject  string    `json:"subject"`
	Time     time.Time `json:"time"`
	Sequence uint64    `json:"stream_sequence"`
	Detail   string    `json:"detail,omitempty"`
	// index is the event's place in its message.
	index int
}

// Outcome counts the events of one outcome, with a few examples.
type Outcome struct {
	Count    int       `json:"count"`
	Examples []Example `json:"examples,omitempty"`
}

func (o *Outcome) add(x Example) {
	o.Count++
	if len(o.Examples) < exampleLimit {
		o.Examples = append(o.Examples, x)
	}
}

// Reconciliation compares the events of a window of the stream with what
// Konnect stored.
type Reconciliation struct {
	From    time.Time  `json:"from"`
	Until   *time.Time `json:"until,omitempty"`
	Stream  string     `json:"stream"`
	Subject string     `json:"subject,omitempty"`
	Events  int        `json:"events"`
	// Stored: stored, attributed to a customer, without validation errors.
	Stored Outcome `json:"stored"`
	// Missing: delivered (below the consumer's ack floor) but not stored,
	// and not dead-lettered either.
	Missing Outcome `json:"missing"`
	// Refused: delivered, refused by Konnect and dead-lettered (see `bridge
	// dlq list`); replay them once fixed.
	Refused Outcome `json:"refused_by_konnect"`
	// Invalid: stored with validation_errors; no meter will count them.
	Invalid Outcome `json:"validation_errors"`
	// Unattributed: stored without a customer; no invoice will show them.
	Unattributed Outcome `json:"without_customer"`
	// Pending: not stored and not yet acknowledged by the bridge.
	Pending Outcome `json:"not_yet_delivered"`
	// Undeliverable: events delivery dead-letters (see `bridge dlq list`).
	Undeliverable Outcome `json:"dead_lettered"`
	// Duplicates: events sent again with the (source, id) of an earlier
	// one of the same chunk; Konnect keeps one, counted above.
	Duplicates Outcome `json:"duplicates"`
}

// OK is true when every delivered event is stored, valid and attributed.
func (r Reconciliation) OK() bool {
	return r.Missing.Count == 0 && r.Refused.Count == 0 && r.Invalid.Count == 0 && r.Unattributed.Count == 0
}

// Reconciler compares the stream with Konnect.
type Reconciler struct {
	Client *Client
	Stream Stream
	// AckFloor is the durable consumer's ack floor: events of messages
	// above it that Konnect has not stored may still be on their way.
	AckFloor uint64
	// Progress, when set, is called now and then with the events read.
	Progress func(events int)
	// Chunk is the most events held at once; 0 is ChunkEvents.
	Chunk int
	// DeadLetter, when set, finds the dead letter holding event index of
	// the message of stream sequence seq: its reason, and found false when
	// there is none. Delivered events Konnect did not store are looked up
	// there: refused and dead-lettered, or missing.
	DeadLetter func(ctx context.Context, seq uint64, index int) (reason string, found bool, err error)
}

type eventKey struct{ source, id string }

// Run reconciles the events stored in w, only subject's when not "".
func (rc Reconciler) Run(ctx context.Context, w Window, subject string) (Reconciliation, error) {
	r := Reconciliation{From: w.From, Stream: rc.Stream.Name, Subject: subject}
	if !w.Until.IsZero() {
		r.Until = &w.Until
	}
	chunk := map[eventKey]Example{}
	err := rc.Stream.Read(ctx, w, 0, func(rd Read) error {
		var x Example
		if e := rd.Event; e != nil {
			x = Example{ID: e.ID(), Source: e.Source(), Subject: e.Subject(), Time: e.Time(), Sequence: rd.Sequence, index: rd.Index}
		}
		if rd.Err != nil {
			// Dead-lettered, never delivered: counted with the customer it
			// names, when it could be read.
			if subject == "" || (rd.Event != nil && x.Subject == subject) {
				r.Events++
				x.Sequence, x.Detail = rd.Sequence, rd.Err.Error()
				r.Undeliverable.add(x)
			}
			return nil
		}
		if subject != "" && x.Subject != subject {
			return nil
		}
		r.Events++
		if rc.Progress != nil && r.Events%1000 == 0 {
			rc.Progress(r.Events)
		}
		k := eventKey{x.Source, x.ID}
		if _, dup := chunk[k]; dup {
			r.Duplicates.add(x)
			return nil
		}
		chunk[k] = x
		if len(chunk) < cmp.Or(rc.Chunk, ChunkEvents) {
			return nil
		}
		return rc.settle(ctx, chunk, subject, &r)
	})
	if err == nil {
		err = rc.settle(ctx, chunk, subject, &r)
	}
	if rc.Progress != nil {
		rc.Progress(r.Events)
	}
	return r, err
}

// settle looks the chunk's events up in Konnect, over the span of their
// times, records each one's outcome and empties the chunk.
func (rc Reconciler) settle(ctx context.Context, chunk map[eventKey]Example, subject string, r *Reconciliation) error {
	if len(chunk) == 0 {
		return nil
	}
	var from, to time.Time
	for _, x := range chunk {
		if from.IsZero() || x.Time.Before(from) {
			from = x.Time
		}
		if x.Time.After(to) {
			to = x.Time
		}
	}
	f := EventFilter{Subject: subject, From: from.Add(-time.Second), To: to.Add(time.Second)}
	err := rc.Client.Events(ctx, f, func(page []StoredEvent) error {
		for _, se := range page {
			k := eventKey{se.Event.Source, se.Event.ID}
			x, ok := chunk[k]
			if !ok {
				continue
			}
			delete(chunk, k)
			switch {
			case len(se.ValidationErrors) > 0:
				x.Detail = se.ValidationErrors[0].Code + ": " + se.ValidationErrors[0].Message
				r.Invalid.add(x)
			case se.Customer == nil:
				r.Unattributed.add(x)
			default:
				r.Stored.add(x)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	left := slices.SortedFunc(maps.Values(chunk), func(a, b Example) int {
		return cmp.Or(cmp.Compare(a.Sequence, b.Sequence), cmp.Compare(a.index, b.index))
	})
	clear(chunk)
	for _, x := range left {
		if x.Sequence > rc.AckFloor {
			r.Pending.add(x)
			continue
		}
		if err := rc.notStored(ctx, x, r); err != nil {
			return err
		}
	}
	return nil
}

// notStored records a delivered event Konnect has not stored: refused and
// dead-lettered, or missing.
func (rc Reconciler) notStored(ctx context.Context, x Example, r *Reconciliation) error {
	if rc.DeadLetter == nil {
		r.Missing.add(x)
		return nil
	}
	reason, found, err := rc.DeadLetter(ctx, x.Sequence, x.index)
	if err != nil {
		return err
	}
	if found {
		x.Detail = reason
		r.Refused.add(x)
	} else {
		r.Missing.add(x)
	}
	return nil
}
