package publish

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// limiter holds the senders to the limit the arc controller sets: a sender
// takes a slot before it takes a batch and gives it back once the batch is
// settled. Safe for concurrent use.
type limiter struct {
	mu    sync.Mutex
	arc   arc
	taken int
	// inflight counts the requests on their way, which is what the limit
	// bounds; a sender waiting for a batch holds a slot but no request.
	inflight int
	freed    chan struct{}
	gauge    prometheus.Gauge
	// fixed holds the limit at its max.
	fixed bool
}

func newLimiter(max int, fixed bool, gauge prometheus.Gauge) *limiter {
	l := &limiter{arc: newARC(max), freed: make(chan struct{}), gauge: gauge, fixed: fixed}
	if fixed {
		l.arc.limit = max
	}
	gauge.Set(float64(l.arc.limit))
	return l
}

// acquire takes a slot, waiting while the limit is taken, or returns ctx's
// error.
func (l *limiter) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.taken < l.arc.limit {
			l.taken++
			l.mu.Unlock()
			return nil
		}
		freed := l.freed
		l.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives a slot back.
func (l *limiter) release() {
	l.mu.Lock()
	l.taken--
	l.signal()
	l.mu.Unlock()
}

// begin counts a request on its way and reports whether it reaches the
// limit.
func (l *limiter) begin() (full bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight++
	return l.inflight >= l.arc.limit
}

// end counts a request answered and lets the controller adjust the limit.
func (l *limiter) end(start time.Time, full bool, a Answer) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	if l.fixed {
		return
	}
	before := l.arc.limit
	l.arc = l.arc.observe(sample{now: now, rtt: now.Sub(start), pressure: a.Verdict == RetryLater, full: full})
	if l.arc.limit != before {
		l.gauge.Set(float64(l.arc.limit))
		if l.arc.limit > before {
			l.signal()
		}
	}
}

// signal wakes the senders waiting for a slot; l.mu is held.
func (l *limiter) signal() {
	close(l.freed)
	l.freed = make(chan struct{})
}
