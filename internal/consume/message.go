package consume

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sync/semaphore"

	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/event/decode"
)

// MaxDeadLettersPerMessage bounds the dead letters one message yields: up
// to this many, one per event that cannot be delivered; past it, the whole
// message once, raw, with the count and the first reasons.
const MaxDeadLettersPerMessage = 10

// settler is how one kind of message (JetStream or core NATS) is finally
// settled. Exactly one of its methods is called, once.
type settler interface {
	// ack: every event is delivered, or dead-lettered and stored
	// (deadLettered of them).
	ack(deadLettered int) error
	// handBack: deliver again after delay.
	handBack(delay time.Duration, reason string) error
	// term: every event was dead-lettered; never deliver it again.
	term(reason string) error
	// progress says, while the message waits, that it is still being
	// worked on, where the source needs to hear it.
	progress()
	// origin describes the message for dead-letter headers.
	origin() deadletter.Origin
}

// message gathers the outcomes of a message's events and settles the
// message once the last one is in.
type message struct {
	raw *nats.Msg
	s   settler
	// x is the emitter that read it: its dead letters and its log.
	x *emitter
	// p is what the message's events were given (ids, time), which dead
	// letters record.
	p provenance
	// events are the message's events, whose raw JSON dead letters keep.
	events  decode.Events
	pending atomic.Int32
	// held is what the message holds of the emitter's bytes (nil: none)
	// and alive the keep-alive it is registered with (nil: none); both are
	// given back once it is settled.
	held  *semaphore.Weighted
	size  int64
	alive *keepAlive
	// prev and next link the message into alive's list while it is held.
	prev, next *message

	mu        sync.Mutex
	delivered int
	retry     bool
	delay     time.Duration
	reason    string
	// dead holds the first MaxDeadLettersPerMessage dead letters; bad
	// counts them all.
	dead []deadletter.DeadLetter
	bad  int
}

// release gives back what the message held, once it is settled.
func (m *message) release() {
	if m.held != nil {
		m.held.Release(m.size)
	}
	if m.alive != nil {
		m.alive.remove(m)
	}
}

// Settle records the settlement of event i and settles the message after
// the last event: the message is the Owner of its events' Items.
func (m *message) Settle(i int, o delivery.Settlement) {
	m.mu.Lock()
	switch o.Fate {
	case delivery.Delivered:
		m.delivered++
	case delivery.DeadLetter:
		if m.bad++; len(m.dead) < MaxDeadLettersPerMessage {
			m.dead = append(m.dead, deadletter.DeadLetter{Index: i, Raw: m.events.Raw(i), ID: m.p.eventID(i, m.events.Len()), Kind: o.Kind, Reason: o.Reason, Status: o.Status})
		}
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

// settle settles the message now, or, when it has dead letters, hands it to
// the dead-letter stage, which settles it once they are stored.
func (m *message) settle() {
	if m.bad == 0 {
		m.Finish()
		return
	}
	if m.bad > MaxDeadLettersPerMessage {
		m.dead = []deadletter.DeadLetter{m.wholeLetter()}
	}
	m.x.dlq.Submit(m)
}

// wholeLetter is the one dead letter of a message too many of whose events
// cannot be delivered: the message itself, with the count and the first
// reasons.
func (m *message) wholeLetter() deadletter.DeadLetter {
	const shown = 3
	reasons := make([]string, 0, shown)
	for _, d := range m.dead[:shown] {
		reasons = append(reasons, fmt.Sprintf("event %d: %s", d.Index, d.Reason))
	}
	return deadletter.DeadLetter{
		Kind:   delivery.KindTooManyBad,
		Reason: fmt.Sprintf("%d of the message's %d events cannot be delivered; the first: %s", m.bad, m.events.Len(), strings.Join(reasons, "; ")),
	}
}

// Letters are the message's dead letters, for the dead-letter stage.
func (m *message) Letters() deadletter.Letters {
	return deadletter.Letters{Msg: m.raw, Origin: m.s.origin(), IDBase: m.p.idBase(), StoredAt: m.p.stored, Dead: m.dead}
}

// Finish acks, terminates or hands back the message by its outcomes.
func (m *message) Finish() {
	defer m.release()
	var err error
	switch {
	case m.retry:
		err = m.s.handBack(m.delay, m.reason)
	case m.delivered == 0 && m.bad > 0:
		err = m.s.term(m.dead[0].Reason)
	default:
		err = m.s.ack(m.bad)
	}
	if err != nil {
		m.x.settleLog.Warn().Err(err).Msg("settling a message failed; JetStream will redeliver it")
	}
}

// HandBack settles the message as handed back after delay, whatever its
// events' outcomes: its dead letters could not be stored.
func (m *message) HandBack(delay time.Duration, reason string) {
	defer m.release()
	if err := m.s.handBack(delay, reason); err != nil {
		m.x.settleLog.Warn().Err(err).Msg("handing a message back failed; JetStream will redeliver it")
	}
}
