// Package health owns the bridge's readiness: which part is ready, which is
// not, why, and since when, with what an operator reads beside it (the
// last error and whether it cleared, the newest dead letters). Parts
// report their state; the admin server and the metrics read it. It never
// probes anything itself.
package health

import (
	"sync"
	"time"
)

// Component is a part whose state decides readiness.
type Component string

// The components, in the order they are reported.
const (
	NATS             Component = "nats"
	Consumer         Component = "consumer"
	KonnectAuth      Component = "konnect_auth"
	KonnectReachable Component = "konnect_reachable"
	// DeadLetters is whether dead letters can be stored: a dead-letter
	// stream that is full, refuses the bridge or has no quorum is not.
	DeadLetters Component = "dead_letters"
)

var order = []Component{NATS, Consumer, KonnectAuth, KonnectReachable, DeadLetters}

// Status is one component's state.
type Status struct {
	Component Component `json:"component"`
	Ready     bool      `json:"ready"`
	Reason    string    `json:"reason,omitempty"`
	Since     time.Time `json:"since"`
}

// Report is readiness as a whole.
type Report struct {
	Ready       bool      `json:"ready"`
	Components  []Status  `json:"components"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// LastErrorCleared is when the component whose error LastError is
	// became ready again; zero while it holds, and for an error of no
	// component (core NATS dropping messages), which nothing clears.
	LastErrorCleared time.Time `json:"last_error_cleared_at,omitzero"`
	// LastUnexpected is the last answer at KONNECT_URL that was not the
	// ingest API's, as the log line says it (host, status, content type).
	LastUnexpected   string    `json:"last_unexpected_answer,omitempty"`
	LastUnexpectedAt time.Time `json:"last_unexpected_answer_at,omitzero"`
	// Durability is how safely the bound stream keeps what it
	// acknowledged; nil before the stream is bound. It never decides
	// readiness.
	Durability *Durability `json:"durability,omitempty"`
	// Standby says why this replica, ready, receives nothing: another one
	// is pinned, or the backlog is below its overflow threshold; empty
	// while it pulls. It never decides readiness.
	Standby string `json:"standby,omitempty"`
}

// Durability is the bound stream's durability posture.
type Durability struct {
	Stream   string `json:"stream"`
	Replicas int    `json:"replicas"`
	Storage  string `json:"storage"`
	// OK is false where a crash may lose acknowledged events; Says words
	// it, with what to set.
	OK   bool   `json:"ok"`
	Says string `json:"says"`
}

// Health is safe for concurrent use. The zero value is not usable: use New.
type Health struct {
	mu      sync.Mutex
	parts   map[Component]*Status
	lastErr string
	lastAt  time.Time
	// lastFrom is the component lastErr is of ("" for Error's), cleared
	// when it became ready again.
	lastFrom   Component
	cleared    time.Time
	unexpected string
	unexpAt    time.Time
	durability *Durability
	standby    string
	letters    letters
	onChange   func(Component, bool)
}

// New starts with NATS and the consumer not ready (nothing is connected yet)
// and Konnect and dead-letter storing assumed ready until an answer says
// otherwise. onChange, when
// not nil, is called on every change (under the lock: keep it cheap).
func New(onChange func(Component, bool)) *Health {
	h := &Health{parts: map[Component]*Status{}, onChange: onChange}
	now := time.Now()
	for _, c := range order {
		ready := c == KonnectAuth || c == KonnectReachable || c == DeadLetters
		reason := ""
		if !ready {
			reason = "starting"
		}
		h.parts[c] = &Status{Component: c, Ready: ready, Reason: reason, Since: now}
		if onChange != nil {
			onChange(c, ready)
		}
	}
	return h
}

// Set records a component's state. The time it changed is kept when the
// readiness stays the same, so "since" says how long it has been so.
func (h *Health) Set(c Component, ready bool, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.parts[c]
	if s.Ready != ready {
		s.Since = time.Now()
		if h.onChange != nil {
			h.onChange(c, ready)
		}
	}
	s.Ready, s.Reason = ready, reason
	switch {
	case !ready && reason != "":
		h.lastErr, h.lastAt, h.lastFrom, h.cleared = string(c)+": "+reason, time.Now(), c, time.Time{}
	case ready && h.lastFrom == c && h.cleared.IsZero():
		h.cleared = time.Now()
	}
}

// Error records the last error worth showing an operator, without changing
// readiness.
func (h *Health) Error(msg string) {
	h.mu.Lock()
	h.lastErr, h.lastAt, h.lastFrom, h.cleared = msg, time.Now(), "", time.Time{}
	h.mu.Unlock()
}

// Unexpected records an answer that was not the ingest API's, without
// changing readiness (the part it holds says that).
func (h *Health) Unexpected(reason string) {
	h.mu.Lock()
	h.unexpected, h.unexpAt = reason, time.Now()
	h.mu.Unlock()
}

// SetDurability records the bound stream's durability posture.
func (h *Health) SetDurability(d Durability) {
	h.mu.Lock()
	h.durability = &d
	h.mu.Unlock()
}

// SetStandby records why this replica stands by; "" when it pulls.
func (h *Health) SetStandby(reason string) {
	h.mu.Lock()
	h.standby = reason
	h.mu.Unlock()
}

// Ready reports whether every component is ready.
func (h *Health) Ready() bool { return h.Report().Ready }

// Report is a snapshot of every component.
func (h *Health) Report() Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := Report{Ready: true, LastError: h.lastErr, LastErrorAt: h.lastAt, LastErrorCleared: h.cleared, LastUnexpected: h.unexpected, LastUnexpectedAt: h.unexpAt, Standby: h.standby}
	if h.durability != nil {
		d := *h.durability
		r.Durability = &d
	}
	for _, c := range order {
		s := *h.parts[c]
		r.Ready = r.Ready && s.Ready
		r.Components = append(r.Components, s)
	}
	return r
}
