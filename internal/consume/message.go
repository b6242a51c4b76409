package consume

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/publish"
)

// settler is how one kind of message (JetStream or core NATS) is finally
// settled. Exactly one of its methods is called, once.
type settler interface {
	// ack: every event is delivered, or dead-lettered and stored.
	ack() error
	// handBack: deliver again after delay.
	handBack(delay time.Duration, reason string) error
	// term: every event was dead-lettered; never deliver it again.
	term(reason string) error
	// origin describes the message for dead-letter headers.
	origin() Origin
}

// Origin is where a message came from, as dead letters record it.
type Origin struct {
	Subject string
	Stream  string
	// StreamID tells the stream apart from an earlier one of the same name.
	StreamID   string
	Sequence   uint64
	Deliveries uint64
}

// message gathers the outcomes of a message's events and settles the
// message once the last one is in.
type message struct {
	raw     *nats.Msg
	s       settler
	dlq     *DeadLetters
	pending atomic.Int32
	// released is called once the message is settled (keep-alive bookkeeping).
	released func()

	mu        sync.Mutex
	delivered int
	retry     bool
	delay     time.Duration
	reason    string
	dead      []DeadLetter
}

func newMessage(raw *nats.Msg, s settler, dlq *DeadLetters, events int) *message {
	m := &message{raw: raw, s: s, dlq: dlq}
	m.pending.Store(int32(events))
	return m
}

// done records the outcome of event i (raw is its own JSON when the message
// held several) and settles the message after the last event.
func (m *message) done(i int, raw []byte, o publish.Outcome) {
	m.mu.Lock()
	switch o.Verdict {
	case publish.Delivered:
		m.delivered++
	case publish.Rejected:
		m.dead = append(m.dead, DeadLetter{Index: i, Raw: raw, Kind: o.Cause, Reason: o.Reason, Status: o.Status})
	default:
		m.retry = true
		m.delay = max(m.delay, o.Delay)
		m.reason = o.Reason
	}
	m.mu.Unlock()
	if m.pending.Add(-1) == 0 {
		m.settle()
	}
}

// settle settles the message now, or, when it has dead letters, once they
// are stored: the message is terminated or acked only once they are safe,
// and handed back when they are not. Storing runs on a goroutine of its
// own (DeadLetters.Wait waits for them), so a slow dead-letter stream
// never holds up the pull loop or a sender, and bad input never blocks
// good input.
func (m *message) settle() {
	if len(m.dead) == 0 {
		m.finish()
		return
	}
	m.dlq.pending.Go(func() {
		o := m.s.origin()
		var errs []error
		for _, d := range m.dead {
			errs = append(errs, m.dlq.Publish(m.raw, o, d))
		}
		if err := errors.Join(errs...); err != nil {
			defer m.released()
			m.dlq.log.Error().Err(err).Str("subject", o.Subject).Uint64("seq", o.Sequence).Msg("dead letter not stored; handing the message back")
			_ = m.s.handBack(m.dlq.retryDelay, "dead letter not stored: "+err.Error())
			return
		}
		m.finish()
	})
}

// finish acks, terminates or hands back the message by its outcomes.
func (m *message) finish() {
	defer m.released()
	var err error
	switch {
	case m.retry:
		err = m.s.handBack(m.delay, m.reason)
	case m.delivered == 0 && len(m.dead) > 0:
		err = m.s.term(m.dead[0].Reason)
	default:
		err = m.s.ack()
	}
	if err != nil {
		m.dlq.log.Warn().Err(err).Msg("settling a message failed; JetStream will redeliver it")
	}
}
