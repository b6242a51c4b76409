package sandbox

import (
	"encoding/json"
	"hash/fnv"
	"maps"
)

// DedupeWindow is how many (source, id) keys a sandbox WithKeep remembers
// for deduplication, like Konnect's deduplication window but counted in
// events: a key older than the last DedupeWindow distinct events is
// forgotten, so memory stays bounded (about 40 MB at most).
const DedupeWindow = 1 << 20

// KeepBytes bounds the bytes of the events a sandbox WithKeep keeps to
// show, whatever their number; MaxUsageKeys bounds the distinct types,
// subjects and agent names its usage counts by name (the rest count under
// OtherKey).
const (
	KeepBytes    = 64 << 20
	MaxUsageKeys = 1000
	OtherKey     = "(other)"
)

// WithKeep bounds the sandbox's memory for a long-running dev stack: it
// keeps the last n accepted events and the last n requests to show, and
// remembers the last DedupeWindow keys to deduplicate, while Usage still
// counts every event accepted. Without it (n <= 0) everything is kept,
// which tests rely on.
func WithKeep(n int) Option {
	return func(s *Sandbox) {
		if n > 0 {
			s.keep, s.window = n, DedupeWindow
			if s.keepBytes == 0 {
				s.keepBytes = KeepBytes
			}
		}
	}
}

// WithKeepBytes sets the bytes of events a sandbox WithKeep keeps to show
// (KeepBytes by default).
func WithKeepBytes(n int) Option { return func(s *Sandbox) { s.keepBytes = n } }

// dedupeKey is a (source, id) key, hashed to 128 bits to keep it small.
type dedupeKey [16]byte

func keyOf(source, id string) dedupeKey {
	h := fnv.New128a()
	_, _ = h.Write([]byte(source))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(id))
	var k dedupeKey
	h.Sum(k[:0])
	return k
}

// remember records k; it reports false when k was seen before. With a
// window, the oldest key is forgotten once the window is full. s.mu held.
func (s *Sandbox) remember(k dedupeKey) bool {
	if _, ok := s.seen[k]; ok {
		return false
	}
	s.seen[k] = struct{}{}
	if s.window > 0 {
		if len(s.order) < s.window {
			s.order = append(s.order, k)
		} else {
			delete(s.seen, s.order[s.oldest])
			s.order[s.oldest] = k
			s.oldest = (s.oldest + 1) % s.window
		}
	}
	return true
}

// count adds an accepted event to the usage. s.mu held.
func (s *Sandbox) count(e Event) {
	u := &s.usage
	u.Events++
	s.countBy(u.ByType, e.Type)
	s.countBy(u.BySubject, e.Subject)
	var data map[string]json.RawMessage
	if json.Unmarshal(e.Data, &data) != nil {
		return
	}
	if name, ok := asString(data["agent_name"]); ok {
		s.countBy(u.ByAgentName, name)
	}
}

// countBy counts one under key, or under OtherKey once a sandbox WithKeep
// counts MaxUsageKeys names already. s.mu held.
func (s *Sandbox) countBy(m map[string]int, key string) {
	if _, ok := m[key]; !ok && s.keep > 0 && len(m) >= MaxUsageKeys {
		key = OtherKey
	}
	m[key]++
}

// keepEvent keeps e to show: with WithKeep, the last keep events, and of
// them no more than about KeepBytes. s.mu held.
func (s *Sandbox) keepEvent(e Event) {
	if s.keep <= 0 {
		s.events = append(s.events, e)
		return
	}
	n := len(s.events) + 1
	s.events = trim(append(s.events, e), s.keep)
	if len(s.events) < n {
		s.keptBytes = 0
		for _, k := range s.events {
			s.keptBytes += eventBytes(k)
		}
	} else {
		s.keptBytes += eventBytes(e)
	}
	if s.keptBytes <= 2*s.keepBytes {
		return
	}
	drop, bytes := 0, s.keptBytes
	for ; bytes > s.keepBytes && drop < len(s.events)-1; drop++ {
		bytes -= eventBytes(s.events[drop])
	}
	s.events, s.keptBytes = append(s.events[:0], s.events[drop:]...), bytes
}

func newUsage() Usage {
	return Usage{ByType: map[string]int{}, BySubject: map[string]int{}, ByAgentName: map[string]int{}}
}

func (u Usage) clone() Usage {
	return Usage{Events: u.Events, ByType: maps.Clone(u.ByType), BySubject: maps.Clone(u.BySubject), ByAgentName: maps.Clone(u.ByAgentName)}
}

// trim keeps the last n of xs when n > 0, reusing the array's front.
func trim[T any](xs []T, n int) []T {
	if n <= 0 || len(xs) <= 2*n {
		return xs
	}
	return append(xs[:0], xs[len(xs)-n:]...)
}

// last returns the last n of xs, or all when n <= 0.
func last[T any](xs []T, n int) []T {
	if n > 0 && len(xs) > n {
		return xs[len(xs)-n:]
	}
	return xs
}

func eventBytes(e Event) int { return len(e.Raw) + len(e.Data) }
