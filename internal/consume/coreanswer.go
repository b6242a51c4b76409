package consume

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// coreSettler answers request/reply producers; the answer is JSON:
// {"status":"accepted"}, {"status":"dead_lettered","reason":...} or
// {"status":"retry","reason":...,"retry_after_ms":...}.
type coreSettler struct {
	c   *Core
	msg *nats.Msg
	p   provenance
}

type coreAnswer struct {
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
	// DeadLettered counts the events of an accepted message that were
	// dead-lettered rather than delivered.
	DeadLettered int `json:"dead_lettered,omitempty"`
}

// The statuses of a core NATS answer.
const (
	answerAccepted     = "accepted"
	answerDeadLettered = "dead_lettered"
	answerRetry        = "retry"
)

func parseCoreAnswer(b []byte) (coreAnswer, error) {
	var a coreAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return a, err
	}
	if a.Status != answerAccepted && a.Status != answerDeadLettered && a.Status != answerRetry {
		return a, fmt.Errorf("unknown status %q", a.Status)
	}
	return a, nil
}

func (s *coreSettler) respond(a coreAnswer) error {
	if s.msg.Reply == "" {
		return nil
	}
	b, _ := json.Marshal(a)
	return s.msg.Respond(b)
}

func (s *coreSettler) ack(deadLettered int) error {
	return s.respond(coreAnswer{Status: answerAccepted, DeadLettered: deadLettered})
}
func (s *coreSettler) term(reason string) error {
	return s.respond(coreAnswer{Status: answerDeadLettered, Reason: reason})
}
func (s *coreSettler) handBack(delay time.Duration, reason string) error {
	if s.msg.Reply == "" {
		s.c.retry(s.msg, s.p, delay)
		return nil
	}
	return s.respond(coreAnswer{Status: answerRetry, Reason: reason, RetryAfterMS: delay.Milliseconds()})
}
func (s *coreSettler) progress()      {}
func (s *coreSettler) origin() Origin { return Origin{Subject: s.msg.Subject} }
