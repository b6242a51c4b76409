package delivery

// Kind is why an event was dead-lettered, as the Konnect-Bridge-Reason-Kind
// header and the dead-letter metric name it.
type Kind string

// The kinds of dead letter.
const (
	// KindInvalid: a CloudEvent that breaks Konnect's rules.
	KindInvalid Kind = "invalid"
	// KindUndecodable: not JSON, or not a CloudEvent at all.
	KindUndecodable Kind = "undecodable"
	// KindFenced: the event's customer (or source) is not one the NATS
	// subject it arrived on allows (BRIDGE_FENCE_SUBJECTS).
	KindFenced Kind = "fenced"
	// KindRejected: Konnect refused the event (a 400 on its own).
	KindRejected Kind = "rejected"
	// KindTooLarge: the event alone is larger than a request may be.
	KindTooLarge Kind = "too_large"
	// KindTooManyEvents: the message packs more events than
	// BRIDGE_MAX_EVENTS_PER_MESSAGE; dead-lettered whole, undecoded.
	KindTooManyEvents Kind = "too_many_events"
	// KindOutOfTime: the event's time is further ahead than
	// BRIDGE_MAX_FUTURE, or before its customer's current billing period,
	// and BRIDGE_TIME_POLICY is deadletter.
	KindOutOfTime Kind = "out_of_time"
	// KindUnmappable: a BRIDGE_MAPPING rule matched the message but could
	// not map it (a field failed to evaluate, or yielded what an event
	// cannot hold); dead-lettered whole, as the producer sent it.
	KindUnmappable Kind = "unmappable"
	// KindTooManyBad: more than MaxDeadLettersPerMessage events of the
	// message could not be delivered; dead-lettered whole, once.
	KindTooManyBad Kind = "too_many_bad_events"
)

// Kinds lists every kind, for metrics that start at zero.
var Kinds = []Kind{KindInvalid, KindUndecodable, KindFenced, KindRejected, KindTooLarge, KindTooManyEvents, KindTooManyBad, KindOutOfTime, KindUnmappable}
