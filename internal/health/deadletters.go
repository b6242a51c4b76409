package health

import (
	"strings"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/termsafe"
)

// DeadLetter is one dead letter the bridge stored, as the status page
// lists the newest: its kind and its reason, escaped (a producer controls
// what a reason quotes).
type DeadLetter struct {
	Kind   string
	Reason string
	At     time.Time
}

// keptLetters is how many of the newest dead letters are kept; maxReason
// bounds the bytes of a reason kept (the dead letter holds it whole).
const (
	keptLetters = 5
	maxReason   = 300
)

// letters is a ring of the newest dead letters.
type letters struct {
	ring [keptLetters]DeadLetter
	next int // where the next one goes
	n    int // how many the ring holds
}

// DeadLettered records a dead letter the bridge stored, keeping the newest
// few in memory for the status page. On a nil Health (a command that
// stores dead letters with no readiness to report) it does nothing.
func (h *Health) DeadLettered(kind, reason string) {
	if h == nil {
		return
	}
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "…" // no rune cut in half
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	l := &h.letters
	l.ring[l.next] = DeadLetter{Kind: termsafe.String(kind), Reason: termsafe.String(reason), At: time.Now()}
	l.next, l.n = (l.next+1)%keptLetters, min(l.n+1, keptLetters)
}

// NewestDeadLetters is the dead letters DeadLettered kept, newest first.
func (h *Health) NewestDeadLetters() []DeadLetter {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := &h.letters
	out := make([]DeadLetter, 0, l.n)
	for i := 1; i <= l.n; i++ {
		out = append(out, l.ring[(l.next-i+keptLetters)%keptLetters])
	}
	return out
}
