package billing

import (
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// Seen remembers the event types and subjects of recent events, each with
// when it was first and last seen and how many events carried it. It holds
// at most max subjects and max types, whatever producers send: events of
// any more are only counted in Untracked. Not safe for concurrent use.
type Seen struct {
	max       int
	Types     map[string]*Sighting
	Subjects  map[string]*Sighting
	Untracked int
}

// Sighting is one type or subject seen.
type Sighting struct {
	First, Last time.Time
	Events      int
}

// NewSeen remembers at most max subjects and max types.
func NewSeen(max int) *Seen {
	return &Seen{max: max, Types: map[string]*Sighting{}, Subjects: map[string]*Sighting{}}
}

// add records one event; at is its time, or the time it was stored.
func (s *Seen) add(e *ce.Event, at time.Time) {
	typed := note(s.Types, e.Type(), at, s.max)
	if !note(s.Subjects, e.Subject(), at, s.max) || !typed {
		s.Untracked++
	}
}

func note(m map[string]*Sighting, key string, at time.Time, max int) bool {
	if x, ok := m[key]; ok {
		x.Events++
		if at.Before(x.First) {
			x.First = at
		}
		if at.After(x.Last) {
			x.Last = at
		}
		return true
	}
	if len(m) >= max {
		return false
	}
	m[key] = &Sighting{First: at, Last: at, Events: 1}
	return true
}

// forget drops what was last seen before t, and the untracked count.
func (s *Seen) forget(t time.Time) {
	for _, m := range []map[string]*Sighting{s.Types, s.Subjects} {
		for k, x := range m {
			if x.Last.Before(t) {
				delete(m, k)
			}
		}
	}
	s.Untracked = 0
}
