package publish

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
)

// sender delivers one batch at a time. Each of the Publisher's workers
// owns one, and with it the buffer its request bodies are built in.
type sender struct {
	p    *Publisher
	body []byte
	// batch is the span of the batch being delivered; nil when off.
	batch *tracing.Batch
}

// deliver settles every item of the batch: delivered, rejected (after
// splitting the batch to find the events Konnect refuses) or handed back.
func (s *sender) deliver(ctx context.Context, items []delivery.Item) {
	s.p.metrics.BatchesInFlight.Inc()
	defer s.p.metrics.BatchesInFlight.Dec()
	if s.p.tracer != nil {
		s.startTrace(ctx, items)
		defer s.endTrace()
	}
	s.send(ctx, items)
}

// send sends the batch, and the parts it is split into, one attempt at a
// time: decide says what each answer leads to, and send does it.
func (s *sender) send(ctx context.Context, items []delivery.Item) {
	p := s.p
	// The retry budget counts the time spent trying: not the time held at
	// the gate (a Retry-After pause, an outage), nor an outage this batch
	// probed through.
	start, held := time.Now(), time.Duration(0)
	var prog progress
	parts := [][]delivery.Item{items}
	for len(parts) > 0 {
		part := parts[0]
		if prog.probing == 0 {
			t0 := time.Now()
			if p.gate.Wait(ctx) != nil {
				p.handBackAll(parts, "shutting down", 0)
				return
			}
			held += time.Since(t0)
		}
		a := s.post(ctx, part)
		prog.events, prog.elapsed, prog.jitter = len(part), time.Since(start)-held, rand.Float64()
		st := decide(prog, a, p.limits)
		prog = st.next
		if st.recovered {
			start, held = time.Now(), 0
		}
		s.report(a, st, len(part))
		switch st.do {
		case deliverAll:
			for _, it := range part {
				it.Done(delivery.Deliver())
			}
		case deadLetter:
			part[0].Done(delivery.Dead(a.Kind, a.Reason, a.Status))
		case split:
			half := len(part) / 2
			parts = append([][]delivery.Item{part[:half], part[half:]}, parts[1:]...)
			continue
		case handBack:
			p.handBack(part, a.Reason, st.wait)
		case retry, probe:
			if !wait.Sleep(ctx, st.wait) {
				p.handBackAll(parts, "shutting down", 0)
				return
			}
			continue
		}
		parts = parts[1:]
	}
}

// report tells health, metrics, the gate and the log what an answer and
// the step it led to mean.
func (s *sender) report(a Answer, st step, events int) {
	p := s.p
	if st.recovered {
		if p.gate.SetOutage(false) {
			p.log.Info().Int("status", a.Status).Msg("Konnect accepts requests again; delivery resumes")
		}
		p.health.Set(health.KonnectAuth, true, "")
	}
	switch st.do {
	case deliverAll:
		p.health.Set(health.KonnectReachable, true, "")
		p.metrics.EventsDelivered.Add(float64(events))
		p.metrics.LastDelivery.SetToCurrentTime()
	case deadLetter:
		p.health.Set(health.KonnectReachable, true, "")
	case split:
		p.health.Set(health.KonnectReachable, true, "")
		p.log.Debug().Int("events", events).Str("reason", a.Reason).Msg("Konnect rejected a batch; splitting it")
	case probe:
		s.reportProbe(a, st.outage)
	case retry, handBack:
		s.reportRetry(a, st, events)
	}
}

func (s *sender) reportProbe(a Answer, outage bool) {
	p := s.p
	if !outage {
		p.metrics.Retries.WithLabelValues(a.Cause).Inc()
		p.log.Debug().Int("status", a.Status).Str("reason", a.Reason).Msg("the probe during a Konnect outage failed on the way; probing again")
		return
	}
	if p.gate.SetOutage(true) {
		p.log.Error().Int("status", a.Status).Str("content_type", a.ContentType).Str("fix", a.Reason).Msg("Konnect refuses every request: holding delivery, nothing is acked or dead-lettered until it accepts again")
	}
	p.health.Set(health.KonnectAuth, false, a.Reason)
	p.metrics.Retries.WithLabelValues("outage").Inc()
}

func (s *sender) reportRetry(a Answer, st step, events int) {
	p := s.p
	p.metrics.Retries.WithLabelValues(a.Cause).Inc()
	until := time.Now().Add(a.Delay)
	var since time.Time
	if a.Pause {
		var begun bool
		since, begun = p.gate.PauseUntil(until)
		p.metrics.PausedUntil.Set(float64(until.Unix()))
		if begun {
			p.metrics.Pauses.Inc()
		}
	}
	switch {
	case a.Pause && until.Sub(since) > longPause:
		// One long pause, or short ones asked for again and again.
		p.health.Set(health.KonnectReachable, false, "paused by Konnect: Konnect asked to wait until "+until.UTC().Format(time.RFC3339)+
			" (Retry-After), asking since "+since.UTC().Format(time.RFC3339))
	case st.next.retries >= 3:
		p.health.Set(health.KonnectReachable, false, a.Reason)
	}
	if st.do == handBack {
		p.log.Warn().Int("events", events).Str("reason", a.Reason).Dur("redeliver_in", st.wait).Msg("retry budget spent; handing the messages back to JetStream")
		return
	}
	p.log.Warn().Int("events", events).Int("status", a.Status).Str("cause", a.Cause).Str("reason", a.Reason).Dur("wait", st.wait).Msg("Konnect delivery failed; retrying")
}

// keptBody is the largest body buffer a sender keeps between requests.
const keptBody = 256 << 10

// longPause is how long a Retry-After pause may last before readiness says
// that Konnect asked the bridge to wait. The next delivery clears it.
const longPause = 30 * time.Second

// post builds the body in the sender's buffer and sends it once.
func (s *sender) post(ctx context.Context, items []delivery.Item) Answer {
	p := s.p
	b := append(s.body[:0], '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it.JSON...)
	}
	b = append(b, ']')
	// A sender keeps its buffer for the next body, unless it is large: the
	// bodies in flight are bounded by the events held, not by the senders.
	if s.body = b; cap(b) > keptBody {
		s.body = nil
	}
	full := p.limiter.begin()
	start := time.Now()
	o := p.client.Send(ctx, b)
	p.limiter.end(start, full, o)
	p.metrics.RequestDuration.Observe(time.Since(start).Seconds())
	p.metrics.BatchesSent.Inc()
	p.metrics.BatchSize.Observe(float64(len(items)))
	code := "error"
	if o.Status != 0 {
		code = strconv.Itoa(o.Status)
	}
	p.metrics.KonnectResponses.WithLabelValues(code).Inc()
	if o.Unexpected {
		p.unexpected(o)
	}
	if s.batch != nil {
		s.batch.Request(o.Status, o.Verdict.String(), o.Verdict == RetryLater || o.Verdict == Outage)
	}
	return o
}
