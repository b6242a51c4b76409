// Package metrics owns the bridge's Prometheus metrics: one prefix
// (konnect_bridge_), one registry, and names that follow Prometheus naming
// conventions. It only records; it never decides anything.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const ns = "konnect_bridge"

// Metrics are the collectors the bridge's parts record into. Safe for
// concurrent use.
type Metrics struct {
	Registry *prometheus.Registry

	EventsReceived      prometheus.Counter
	EventsDelivered     prometheus.Counter
	EventsDeadLettered  *prometheus.CounterVec // reason
	DeadLetterFailures  prometheus.Counter
	DeadLettersForeign  *prometheus.CounterVec // found
	FenceRefusals       *prometheus.CounterVec // reason
	EventsOutOfTime     *prometheus.CounterVec // bound
	Retries             *prometheus.CounterVec // cause
	BatchesSent         prometheus.Counter
	BatchSize           prometheus.Histogram
	RequestDuration     prometheus.Histogram
	KonnectResponses    *prometheus.CounterVec // code
	BatchesInFlight     prometheus.Gauge
	ConcurrencyLimit    prometheus.Gauge
	ConsumerPending     prometheus.Gauge
	ConsumerAckPending  prometheus.Gauge
	ConsumerRedelivered prometheus.Gauge
	ConsumerAckFloor    prometheus.Gauge
	// Standby is 1 while this replica, ready, receives nothing by the
	// consumer's priority policy (another is pinned, or the backlog is
	// below its overflow threshold).
	Standby      prometheus.Gauge
	CoreDropped  prometheus.Counter
	LastDelivery prometheus.Gauge
	Ready        *prometheus.GaugeVec // component
	// UnexpectedAnswers counts answers not shaped like the ingest API's
	// (labels: status, content_type class); PausedUntil and Pauses show
	// Konnect's Retry-After pauses.
	UnexpectedAnswers *prometheus.CounterVec
	PausedUntil       prometheus.Gauge
	Pauses            prometheus.Counter

	Billing Billing
}

// Billing is what the last billing check found. No label names a tenant:
// which subjects and types are on the status page and in the log.
type Billing struct {
	UnmeteredTypes       prometheus.Gauge
	UnattributedSubjects prometheus.Gauge
	UnresolvedProperties prometheus.Gauge
	UnbillableEvents     prometheus.Gauge
	Check                *prometheus.GaugeVec // state: ok, findings, cannot_check
	LastCheck            prometheus.Gauge
	// NotInvoiced counts events, as the check reads them, that no invoice
	// will show for their customer's subscriptions.
	NotInvoiced *prometheus.CounterVec // reason
	// PeriodClose is how many events not delivered yet belong to service
	// periods whose ingestion cutoff is near (closing) or past (missed);
	// NextCutoff the seconds until the nearest cutoff of a closing one.
	PeriodClose *prometheus.GaugeVec // state: closing, missed
	NextCutoff  prometheus.Gauge
}

func newBilling(f func(prometheus.Collector)) Billing {
	g := func(name, help string) prometheus.Gauge {
		c := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: "billing", Name: name, Help: help})
		f(c)
		return c
	}
	b := Billing{
		UnmeteredTypes:       g("unmetered_event_types", "Event types delivered recently that no meter counts."),
		UnattributedSubjects: g("unattributed_subjects", "Subjects delivered recently that no customer's usage attribution names."),
		UnresolvedProperties: g("unresolved_meter_properties", "Meter value_property or dimensions that do not resolve on recent events."),
		UnbillableEvents:     g("unbillable_events", "Recent events of unmetered types or unattributed subjects."),
		LastCheck:            g("last_check_timestamp_seconds", "Unix time of the last billing check."),
		Check:                prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: "billing", Name: "check", Help: "1 for the state of the last billing check: ok, findings or cannot_check."}, []string{"state"}),
	}
	b.NotInvoiced = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_not_invoiced_total", Help: "Events delivered for a customer that no invoice will show, by reason: no_subscription (metered, not invoiced), before_subscription (timed before the subscription starts), subscription_ended (timed when no subscription is active), not_priced (the subscription's plan prices no feature of a meter that counts them). Counted by the billing check as it reads them."}, []string{"reason"})
	for _, reason := range []string{"no_subscription", "before_subscription", "subscription_ended", "not_priced"} {
		b.NotInvoiced.WithLabelValues(reason)
	}
	b.NextCutoff = g("period_cutoff_seconds", "Seconds until the nearest ingestion cutoff (period end + the billing profile's collection interval) of a service period with events not delivered yet, among those within BRIDGE_PERIOD_CLOSE_WARNING; 0 when none is.")
	b.PeriodClose = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: "billing", Name: "period_close_events", Help: "Events not delivered yet (in the stream above the ack floor, or dead-lettered) of service periods whose ingestion cutoff is within BRIDGE_PERIOD_CLOSE_WARNING (closing) or passed (missed): they miss, or missed, their invoice."}, []string{"state"})
	for _, state := range []string{"closing", "missed"} {
		b.PeriodClose.WithLabelValues(state)
	}
	f(b.Check)
	f(b.NotInvoiced)
	f(b.PeriodClose)
	return b
}

// New registers the bridge's metrics, with the Go and process collectors and
// build info, on a registry of its own.
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{
		Registry:            r,
		EventsReceived:      prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "events_received_total", Help: "Events decoded from NATS messages, valid or not."}),
		EventsDelivered:     prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "events_delivered_total", Help: "Events Konnect accepted."}),
		EventsDeadLettered:  prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_dead_lettered_total", Help: "Dead letters stored, by reason (invalid, undecodable, fenced, rejected, too_large, too_many_events, too_many_bad_events, out_of_time)."}, []string{"reason"}),
		FenceRefusals:       prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "fence_refusals_total", Help: "Events the fence refused, by reason (customer, source, unmapped, no_template); each is dead-lettered as fenced."}, []string{"reason"}),
		EventsOutOfTime:     prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_time_out_of_bounds_total", Help: "Events timed out of bounds, by bound: future (ahead of the bridge's clock by more than BRIDGE_MAX_FUTURE), past (before the customer's current billing period). Delivered, or dead-lettered as out_of_time with BRIDGE_TIME_POLICY=deadletter."}, []string{"bound"}),
		DeadLettersForeign:  prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "dead_letters_foreign_total", Help: "Dead letters whose subject held a message the bridge did not seal, by what was found there (forged: a seal that does not match; unsealed: no seal, a forgery or a bridge from before seals; other-key: sealed with another key). Each dead letter was stored beside it; keep producers off BRIDGE_DLQ_SUBJECT.>."}, []string{"found"}),
		DeadLetterFailures:  prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "dead_letter_store_failures_total", Help: "Messages handed back because their dead letters could not be stored (the dead-letter stream is missing, full, refuses the bridge or has no quorum)."}),
		Retries:             prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "retries_total", Help: "Batch retries, by cause (rate_limited, server_error, timeout, connection, outage)."}, []string{"cause"}),
		BatchesSent:         prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "batches_sent_total", Help: "Requests sent to Konnect."}),
		BatchSize:           prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "batch_size_events", Help: "Events per request.", Buckets: []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000}}),
		RequestDuration:     prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "request_duration_seconds", Help: "Time from sending a request to Konnect's answer.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		KonnectResponses:    prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "konnect_responses_total", Help: "Konnect's answers by HTTP status code; \"error\" when none came."}, []string{"code"}),
		BatchesInFlight:     prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "batches_in_flight", Help: "Batches being sent or retried."}),
		ConcurrencyLimit:    prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "request_concurrency_limit", Help: "Requests to Konnect allowed at once now, as adaptive concurrency set it (1 to BRIDGE_IN_FLIGHT)."}),
		ConsumerPending:     prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "consumer_pending_messages", Help: "Messages in the stream not yet delivered to the consumer (lag), read from JetStream."}),
		ConsumerAckPending:  prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "consumer_ack_pending_messages", Help: "Messages delivered to the consumer and not yet acknowledged, read from JetStream."}),
		ConsumerRedelivered: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "consumer_redelivered_messages", Help: "Messages redelivered and not yet acknowledged, read from JetStream."}),
		ConsumerAckFloor:    prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "consumer_ack_floor_sequence", Help: "Stream sequence below which every message is acknowledged, read from JetStream."}),
		Standby:             prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "standby", Help: "1 while this replica stands by under BRIDGE_PRIORITY_POLICY: another replica is pinned, or the backlog is below its BRIDGE_OVERFLOW_MIN_PENDING; it is ready and takes over by itself."}),
		CoreDropped:         prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "core_dropped_total", Help: "Core NATS messages NATS dropped because more than BRIDGE_CORE_PENDING waited for the bridge (slow consumer); their events are lost."}),
		LastDelivery:        prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "last_delivery_timestamp_seconds", Help: "Unix time of the last batch Konnect accepted."}),
		Ready:               prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "ready", Help: "1 when the component is ready (nats, consumer, konnect_auth, konnect_reachable, dead_letters)."}, []string{"component"}),
		UnexpectedAnswers:   prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "konnect_unexpected_answers_total", Help: "Answers at KONNECT_URL that are not the ingest API's (an HTML page, an undocumented 2xx, a 400 not in problem+json), by status and content_type (html, json, problem, text, none, other); each holds delivery as an outage."}, []string{"status", "content_type"}),
		PausedUntil:         prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "konnect_paused_until_seconds", Help: "Unix time until which Konnect asked the bridge to wait (Retry-After); in the past when no pause holds."}),
		Pauses:              prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "konnect_pauses_total", Help: "Runs of Retry-After pauses Konnect asked for: a pause asked for within 30s of the last one's end renews its run rather than counting again (each pause is at most 10 minutes)."}),
	}
	for _, c := range []prometheus.Collector{m.EventsReceived, m.EventsDelivered, m.EventsDeadLettered, m.DeadLettersForeign, m.FenceRefusals, m.EventsOutOfTime, m.DeadLetterFailures, m.Retries, m.BatchesSent, m.BatchSize, m.RequestDuration, m.KonnectResponses, m.BatchesInFlight, m.ConcurrencyLimit, m.ConsumerPending, m.ConsumerAckPending, m.ConsumerRedelivered, m.ConsumerAckFloor, m.Standby, m.CoreDropped, m.LastDelivery, m.Ready, m.UnexpectedAnswers, m.PausedUntil, m.Pauses} {
		f(c)
	}
	for _, reason := range []string{"invalid", "undecodable", "fenced", "rejected", "too_large", "too_many_events", "too_many_bad_events", "out_of_time", "unmappable"} {
		m.EventsDeadLettered.WithLabelValues(reason)
	}
	for _, found := range []string{"forged", "unsealed", "other-key"} {
		m.DeadLettersForeign.WithLabelValues(found)
	}
	for _, reason := range []string{"customer", "source", "unmapped", "no_template"} {
		m.FenceRefusals.WithLabelValues(reason)
	}
	for _, bound := range []string{"future", "past"} {
		m.EventsOutOfTime.WithLabelValues(bound)
	}
	m.Billing = newBilling(f)
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	v := Build()
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "build_info", Help: "Build of the running bridge; always 1."}, []string{"version", "revision", "goversion"})
	bi.WithLabelValues(v.Version, v.Revision, v.GoVersion).Set(1)
	f(bi)
	return m
}
