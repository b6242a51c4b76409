package consume

import (
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
)

// jsMessage is a JetStream message in the bridge, with its settlement, in
// one allocation.
type jsMessage struct {
	message
	msg nats.Msg
	set jsSettler
}

// jsSettler settles a JetStream message, unless its stream was replaced
// by another of the same name: an ack goes to "<stream>.<consumer>" by
// name, so it would settle the new stream's message of the same sequence,
// which would then never be delivered. The old stream is gone; nothing is
// left to settle there.
type jsSettler struct {
	msg      jetstream.Msg
	md       *jetstream.MsgMetadata
	streamID string
	j        *JetStream
}

func (s *jsSettler) replaced() bool { return s.j.bound().streamID != s.streamID }

func (s *jsSettler) ack(int) error {
	if s.replaced() {
		return nil
	}
	return s.msg.Ack()
}
func (s *jsSettler) handBack(delay time.Duration, _ string) error {
	if s.replaced() {
		return nil
	}
	return s.msg.NakWithDelay(delay)
}
func (s *jsSettler) term(reason string) error {
	if s.replaced() {
		return nil
	}
	return s.msg.TermWithReason(reason)
}
func (s *jsSettler) progress() {
	if !s.replaced() {
		_ = s.msg.InProgress()
	}
}
func (s *jsSettler) origin() deadletter.Origin {
	return deadletter.Origin{Subject: s.msg.Subject(), Stream: s.md.Stream, StreamID: s.streamID, Sequence: s.md.Sequence.Stream, Deliveries: s.md.NumDelivered}
}
