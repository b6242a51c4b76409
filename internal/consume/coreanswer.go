package consume

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
)

// coreSettler answers request/reply producers with a delivery.Answer.
type coreSettler struct {
	c   *Core
	msg *nats.Msg
	p   provenance
}

func (s *coreSettler) respond(a delivery.Answer) error {
	if s.msg.Reply == "" {
		return nil
	}
	b, _ := json.Marshal(a)
	return s.msg.Respond(b)
}

func (s *coreSettler) ack(deadLettered int) error {
	return s.respond(delivery.Answer{Status: delivery.AnswerAccepted, DeadLettered: deadLettered})
}
func (s *coreSettler) term(reason string) error {
	return s.respond(delivery.Answer{Status: delivery.AnswerDeadLettered, Reason: reason})
}
func (s *coreSettler) handBack(delay time.Duration, reason string) error {
	if s.msg.Reply == "" {
		s.c.retry(s.msg, s.p, delay)
		return nil
	}
	return s.respond(delivery.Answer{Status: delivery.AnswerRetry, Reason: reason, RetryAfterMS: delay.Milliseconds()})
}
func (s *coreSettler) progress() {}
func (s *coreSettler) origin() deadletter.Origin {
	return deadletter.Origin{Subject: s.msg.Subject}
}
