package billing

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// ScanLimit is the most messages one periodic check reads: the newest of
// the messages stored since the previous check.
const ScanLimit = 10_000

// Recent is how long the running bridge remembers a subject or type after
// it last saw one, and how far back its first check reads.
const Recent = time.Hour

// CacheFor is how long the running bridge keeps a customer's
// subscriptions and the product catalog; ReadsPerCheck how many customers'
// subscriptions one check reads at most. A new subscription is seen within
// CacheFor; a thousand customers cost Konnect a read a second at most.
const (
	CacheFor      = 5 * time.Minute
	ReadsPerCheck = 60
)

// logLimit is the most findings one check logs; the status page has all.
const logLimit = 10

// Watcher runs the preflight in the running bridge: at start, then every
// BRIDGE_BILLING_CHECK, off the delivery path. Latest is safe for
// concurrent use; the status page reads it and never starts a check.
type Watcher struct {
	client   *Client
	cfg      config.Config
	interval time.Duration
	seen     *Seen
	log      zerolog.Logger
	metrics  metrics.Billing

	mu     sync.Mutex
	latest *Report
}

// NewWatcher checks what the bridge delivers to ingestURL, reading with
// token; m receives what each check found.
func NewWatcher(cfg config.Config, ingestURL, token string, log zerolog.Logger, m *metrics.Metrics) *Watcher {
	return &Watcher{
		client: NewClient(ingestURL, token, cfg.Konnect.Timeout, cfg.Konnect.ConnectTimeout),
		cfg:    cfg, interval: cfg.Billing.CheckInterval, seen: NewSeen(cfg.Billing.MaxSubjects),
		log: log.With().Str("part", "billing").Logger(), metrics: m.Billing,
	}
}

// Run checks until ctx ends: first the messages stored in the last Recent,
// then, every interval, those stored since the previous check; each check
// also reads what is not delivered yet (the stream above the consumer's
// ack floor, and letters) against the cutoff of its periods. It returns at
// once when the check is off.
func (w *Watcher) Run(ctx context.Context, js jetstream.JetStream, letters *deadletter.DeadLetters) {
	if w.interval <= 0 {
		return
	}
	st, err := StreamOf(js, w.cfg)
	if err != nil {
		return // refused at start: Validate checks the fence
	}
	p := Preflight{Client: w.client, Stream: st, Cache: NewCache(CacheFor, ReadsPerCheck), Warning: w.cfg.Billing.PeriodCloseWarning,
		Undelivered: &Undelivered{Stream: st, Consumer: w.cfg.ReadingConsumer(), Letters: letters, Limit: ScanLimit}}
	from := time.Now().Add(-Recent)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		now := time.Now()
		w.seen.forget(now.Add(-Recent))
		r := p.Check(ctx, w.seen, Window{From: from}, ScanLimit)
		if ctx.Err() != nil {
			return
		}
		from = now
		w.publish(r)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Latest is the last check's report; false before the first.
func (w *Watcher) Latest() (Report, bool) {
	if w == nil {
		return Report{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.latest == nil {
		return Report{}, false
	}
	return *w.latest, true
}

// publish records a report in the metrics, the log and Latest.
func (w *Watcher) publish(r Report) {
	prev, had := w.Latest()
	w.mu.Lock()
	w.latest = &r
	w.mu.Unlock()

	unbillable := 0
	for _, f := range r.Findings {
		if f.Kind == UnmeteredType || f.Kind == UnattributedSubject {
			unbillable += f.Events
		}
	}
	w.metrics.UnmeteredTypes.Set(float64(r.Count(UnmeteredType)))
	w.metrics.UnattributedSubjects.Set(float64(r.Count(UnattributedSubject)))
	w.metrics.UnresolvedProperties.Set(float64(r.Count(UnresolvedProperty)))
	w.metrics.UnbillableEvents.Set(float64(unbillable))
	w.metrics.LastCheck.Set(float64(r.CheckedAt.Unix()))
	w.publishPeriodClose(r)
	for _, f := range r.Findings {
		if slices.Contains(NotInvoicedReasons, f.Kind) {
			w.metrics.NotInvoiced.WithLabelValues(f.Kind).Add(float64(f.Events))
		}
	}
	state := "ok"
	switch {
	case len(r.CannotCheck) > 0:
		state = "cannot_check"
	case len(r.Findings) > 0:
		state = "findings"
	}
	for _, s := range []string{"ok", "findings", "cannot_check"} {
		v := 0.0
		if s == state {
			v = 1
		}
		w.metrics.Check.WithLabelValues(s).Set(v)
	}

	for _, c := range r.CannotCheck {
		if !had || !slices.Contains(prev.CannotCheck, c) {
			w.log.Warn().Msg(c)
		}
	}
	for i, f := range r.Findings {
		if i == logLimit {
			w.log.Warn().Int("more", len(r.Findings)-logLimit).Msg("more billing findings: see the status page")
			break
		}
		w.log.Warn().Str("kind", f.Kind).Str("type", f.Type).Str("subject", f.Subject).Str("customer", f.Customer).Str("meter", f.Meter).
			Int("events", f.Events).Time("since", f.Since).Str("fix", f.Fix).Msg("usage arriving that will not be invoiced")
	}
	if r.OK() && (!had || !prev.OK()) {
		w.log.Info().Int("events", r.Events).Msg("billing check: every event type has a meter and every subject a customer")
	}
}

// publishPeriodClose sets the period-close gauges: the undelivered events
// of closing and missed periods, and the seconds to the nearest cutoff of
// a closing one (0 when none is).
func (w *Watcher) publishPeriodClose(r Report) {
	closing, missed, next := 0, 0, time.Duration(0)
	for _, f := range r.Findings {
		switch f.Kind {
		case PeriodMissed:
			missed += f.Events
		case PeriodClosing:
			closing += f.Events
			if left := f.Cutoff.Sub(r.CheckedAt); next == 0 || left < next {
				next = max(left, time.Second)
			}
		}
	}
	w.metrics.PeriodClose.WithLabelValues("closing").Set(float64(closing))
	w.metrics.PeriodClose.WithLabelValues("missed").Set(float64(missed))
	w.metrics.NextCutoff.Set(next.Seconds())
}
