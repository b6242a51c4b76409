package publish

import (
	"context"
	"sync"
	"time"
)

// gate holds every request to Konnect while a Retry-After pause runs or an
// outage lasts. Safe for concurrent use.
type gate struct {
	mu      sync.Mutex
	until   time.Time
	since   time.Time // when the current run of pauses began
	outage  bool
	changed chan struct{}
}

func newGate() *gate { return &gate{changed: make(chan struct{})} }

// Wait returns when requests may go, or with ctx's error.
func (g *gate) Wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		until, outage, changed := g.until, g.outage, g.changed
		g.mu.Unlock()
		var wake <-chan time.Time
		if !outage {
			d := time.Until(until)
			if d <= 0 {
				return nil
			}
			t := time.NewTimer(d)
			wake = t.C
			defer t.Stop() // at most one timer per change of the gate
		}
		select {
		case <-wake:
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// PauseUntil holds every request until t (a later pause wins). It returns
// when the run of pauses that t extends began, and whether t began it: a
// pause asked for within longPause of the last one's end renews it, so that
// a Konnect that asks to wait again and again shows as one long pause.
func (g *gate) PauseUntil(t time.Time) (since time.Time, begun bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now := time.Now(); g.since.IsZero() || now.Sub(g.until) > longPause {
		g.since, begun = now, true
	}
	if t.After(g.until) {
		g.until = t
		g.signal()
	}
	return g.since, begun
}

// SetOutage holds (true) or releases (false) every request but the probes.
// It reports whether the state changed.
func (g *gate) SetOutage(on bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.outage == on {
		return false
	}
	g.outage = on
	g.signal()
	return true
}

func (g *gate) signal() {
	close(g.changed)
	g.changed = make(chan struct{})
}
