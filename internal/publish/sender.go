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

// sender delivers one batch at a time. Each of the Publisher's in-flight
// workers owns one, and with it the buffer its request bodies are built in.
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

func (s *sender) send(ctx context.Context, items []delivery.Item) {
	p := s.p
	start := time.Now()
	retries, probe := 0, time.Duration(0)
	for {
		if probe == 0 {
			if err := p.gate.Wait(ctx); err != nil {
				p.handBack(items, "shutting down", 0)
				return
			}
		}
		o := s.post(ctx, items)
		if probe > 0 {
			switch {
			case o.TakesAuth():
				if p.gate.SetOutage(false) {
					p.log.Info().Int("status", o.Status).Msg("Konnect accepts requests again; delivery resumes")
				}
				p.health.Set(health.KonnectAuth, true, "")
				probe = 0
			case o.Verdict == RetryLater:
				// A 503, a timeout or a dropped connection says nothing about
				// the token or the URL: the outage holds, and so does the probe.
				p.metrics.Retries.WithLabelValues(o.Cause).Inc()
				p.log.Debug().Int("status", o.Status).Str("reason", o.Reason).Msg("the probe during a Konnect outage failed on the way; probing again")
				if !wait.Sleep(ctx, max(probe, o.Delay)) {
					p.handBack(items, "shutting down during a Konnect outage", 0)
					return
				}
				continue
			}
		}
		switch o.Verdict {
		case Delivered:
			p.health.Set(health.KonnectReachable, true, "")
			p.metrics.EventsDelivered.Add(float64(len(items)))
			p.metrics.LastDelivery.SetToCurrentTime()
			for _, it := range items {
				it.Done(delivery.Deliver())
			}
			return
		case Rejected:
			p.health.Set(health.KonnectReachable, true, "")
			if len(items) == 1 {
				items[0].Done(delivery.Dead(o.Kind, o.Reason, o.Status))
				return
			}
			// One bad event rejects the whole request: split to find it.
			half := len(items) / 2
			p.log.Debug().Int("events", len(items)).Str("reason", o.Reason).Msg("Konnect rejected a batch; splitting it")
			s.send(ctx, items[:half])
			s.send(ctx, items[half:])
			return
		case Outage:
			if p.gate.SetOutage(true) {
				p.log.Error().Int("status", o.Status).Str("fix", o.Reason).Msg("Konnect refuses every request: holding delivery, nothing is acked or dead-lettered until it accepts again")
			}
			p.health.Set(health.KonnectAuth, false, o.Reason)
			p.metrics.Retries.WithLabelValues("outage").Inc()
			probe = min(max(2*probe, time.Second), p.limits.ProbeMax)
			if !wait.Sleep(ctx, probe) {
				p.handBack(items, "shutting down during a Konnect outage", 0)
				return
			}
		case RetryLater:
			retries++
			p.metrics.Retries.WithLabelValues(o.Cause).Inc()
			// The gate holds every request for exactly the Retry-After; this
			// sender waits at least its backoff too, so that a Retry-After of
			// 0 or a date in the past never makes it send again at once.
			delay := max(o.Delay, backoff(retries, p.limits.MaxBackoff))
			until := time.Now().Add(o.Delay)
			if o.Pause {
				p.gate.PauseUntil(until)
			}
			switch {
			case o.Pause && o.Delay > longPause:
				p.health.Set(health.KonnectReachable, false, "Konnect asked to wait until "+until.UTC().Format(time.RFC3339)+" (Retry-After)")
			case retries >= 3:
				p.health.Set(health.KonnectReachable, false, o.Reason)
			}
			if time.Since(start)+delay > p.limits.RetryBudget {
				p.log.Warn().Int("events", len(items)).Str("reason", o.Reason).Dur("redeliver_in", p.limits.NakDelay).Msg("retry budget spent; handing the messages back to JetStream")
				p.handBack(items, o.Reason, p.limits.NakDelay)
				return
			}
			p.log.Warn().Int("events", len(items)).Int("status", o.Status).Str("cause", o.Cause).Str("reason", o.Reason).Dur("wait", delay).Msg("Konnect delivery failed; retrying")
			if !wait.Sleep(ctx, delay) {
				p.handBack(items, "shutting down", 0)
				return
			}
		}
	}
}

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
	s.body = b
	start := time.Now()
	o := p.client.Send(ctx, b)
	p.metrics.RequestDuration.Observe(time.Since(start).Seconds())
	p.metrics.BatchesSent.Inc()
	p.metrics.BatchSize.Observe(float64(len(items)))
	code := "error"
	if o.Status != 0 {
		code = strconv.Itoa(o.Status)
	}
	p.metrics.KonnectResponses.WithLabelValues(code).Inc()
	if s.batch != nil {
		s.batch.Request(o.Status, o.Verdict.String(), o.Verdict == RetryLater || o.Verdict == Outage)
	}
	return o
}

// backoff is exponential from 100ms, capped, with equal jitter.
func backoff(retry int, cap time.Duration) time.Duration {
	d := min(100*time.Millisecond<<min(retry-1, 20), cap)
	return d/2 + rand.N(d/2+1)
}
