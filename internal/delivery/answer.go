package delivery

import (
	"encoding/json"
	"fmt"
)

// Answer is how a core NATS request/reply producer hears its message's
// settlement: JSON {"status":"accepted"}, {"status":"dead_lettered",
// "reason":...} or {"status":"retry","reason":...,"retry_after_ms":...}.
// The bridge reading core NATS answers it; a dead-letter replay reads it.
type Answer struct {
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
	// DeadLettered counts the events of an accepted message that were
	// dead-lettered rather than delivered.
	DeadLettered int `json:"dead_lettered,omitempty"`
}

// The statuses of an Answer.
const (
	AnswerAccepted     = "accepted"
	AnswerDeadLettered = "dead_lettered"
	AnswerRetry        = "retry"
)

// ParseAnswer reads an Answer, refusing a status it does not know.
func ParseAnswer(b []byte) (Answer, error) {
	var a Answer
	if err := json.Unmarshal(b, &a); err != nil {
		return a, err
	}
	if a.Status != AnswerAccepted && a.Status != AnswerDeadLettered && a.Status != AnswerRetry {
		return a, fmt.Errorf("unknown status %q", a.Status)
	}
	return a, nil
}
