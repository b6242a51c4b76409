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

// PauseUntil holds every request until t (a later pause wins).
func (g *gate) PauseUntil(t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(g.until) {
		g.until = t
		g.signal()
	}
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
