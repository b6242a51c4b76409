package delivery

import "time"

// Item is one event on its way to Konnect.
type Item struct {
	// JSON is the event exactly as it goes into the batch body.
	JSON []byte
	// Traceparent is the producer's W3C trace context, kept as it came and
	// read only when tracing is on; empty when there is none or tracing is
	// off.
	Traceparent string
	// Owner receives the event's settlement as its event Index: the
	// message the event came in, which settles once all its events have.
	Owner Owner
	Index int
}

// Done gives the event's settlement to its owner. Call it exactly once,
// from any goroutine.
func (it Item) Done(s Settlement) { it.Owner.Settle(it.Index, s) }

// Owner is what an Item's settlement goes to. An interface rather than a
// function per event, so that handing an event on costs no allocation.
type Owner interface {
	// Settle receives the settlement of event index. It must not block
	// long.
	Settle(index int, s Settlement)
}

// SettleFunc is an Owner of single events, for tools and tests.
type SettleFunc func(Settlement)

// Settle calls f.
func (f SettleFunc) Settle(_ int, s Settlement) { f(s) }

// Fate is what becomes of one event's message.
type Fate int

const (
	// Delivered: Konnect accepted the event. Its message may be acked.
	Delivered Fate = iota
	// HandBack: the event could not be delivered now (the retry budget is
	// spent, or the bridge is stopping): hand its message back for
	// redelivery after Delay.
	HandBack
	// DeadLetter: the event will never be delivered: store it as a dead
	// letter of Kind, with Reason and Konnect's Status.
	DeadLetter
)

func (f Fate) String() string {
	switch f {
	case Delivered:
		return "delivered"
	case HandBack:
		return "hand_back"
	case DeadLetter:
		return "dead_letter"
	}
	return "unknown"
}

// Settlement is the final fate of one event.
type Settlement struct {
	Fate Fate
	// Delay is how long to wait before the message is delivered again
	// (HandBack).
	Delay time.Duration
	// Kind is why the event is dead-lettered (DeadLetter).
	Kind Kind
	// Reason is the text a person reads: Konnect's problem detail, the
	// validation error, why the message is handed back.
	Reason string
	// Status is Konnect's HTTP status, 0 when Konnect gave none.
	Status int
}

// Deliver is the settlement of an event Konnect accepted.
func Deliver() Settlement { return Settlement{Fate: Delivered} }

// Later is the settlement of an event to deliver again after delay.
func Later(delay time.Duration, reason string) Settlement {
	return Settlement{Fate: HandBack, Delay: delay, Reason: reason}
}

// Dead is the settlement of an event that will never be delivered.
func Dead(kind Kind, reason string, status int) Settlement {
	return Settlement{Fate: DeadLetter, Kind: kind, Reason: reason, Status: status}
}
