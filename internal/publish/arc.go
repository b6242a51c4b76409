package publish

import "time"

// arc is the adaptive request concurrency controller, in the manner of
// Vector's: it measures round trips in windows about one round trip long
// and, at the end of each window, grows the limit by one when the limit was
// reached and the round trips stayed flat against their moving average, or
// cuts it by a factor when they rose or Konnect pushed back (429, 5xx, a
// timeout, a dropped connection). Until the first cut the limit doubles
// instead of growing by one. Near the limit of its last cut it grows
// only after holdWindows calm windows, so that a Konnect which refuses
// past a fixed concurrency is seldom asked for more. A pure value: observe
// returns the next one.
type arc struct {
	limit, max int
	// past and dev are moving averages of the windows' mean round trip and
	// of its deviation, in seconds; past is 0 before the first window.
	past, dev float64
	// ceiling is the limit the last cut came from, 0 once passed; held
	// counts the calm windows spent just below it.
	ceiling, held int
	// steady: a cut has happened. Until then the limit doubles with each
	// window (a slow start), after it grows by one.
	steady bool

	// The window being measured.
	start    time.Time
	sum      float64
	n        int
	pressure bool
	full     bool
}

// sample is one request's round trip and what it said.
type sample struct {
	now time.Time
	rtt time.Duration
	// pressure: Konnect pushed back (a transient failure).
	pressure bool
	// full: the request went out with the limit reached.
	full bool
}

const (
	// arcDecrease is the factor of a cut.
	arcDecrease = 0.9
	// arcAlpha weighs a window in the moving averages.
	arcAlpha = 0.4
	// arcDeviations is how many deviations a window's mean may rise above
	// the moving average before it counts as rising; arcTolerance is the
	// least rise that does, as a share of the average, and arcFloor in
	// absolute terms.
	arcDeviations = 2.5
	arcTolerance  = 0.2
	arcFloor      = 0.002
	// arcMinWindow is the shortest window, for round trips of a loopback.
	arcMinWindow = 10 * time.Millisecond
	// holdWindows is how many calm windows it takes to try the limit of
	// the last cut again.
	holdWindows = 16
)

func newARC(max int) arc { return arc{limit: 1, max: max} }

// observe takes one sample, and closes the window when it has lasted long
// enough.
func (c arc) observe(s sample) arc {
	if c.start.IsZero() {
		c.start = s.now
	}
	if s.pressure {
		c.pressure = true
	} else {
		c.sum += s.rtt.Seconds()
		c.n++
	}
	c.full = c.full || s.full
	if s.now.Sub(c.start) < max(time.Duration(c.past*float64(time.Second)), arcMinWindow) {
		return c
	}
	return c.close(s.now)
}

// close adjusts the limit by the window just measured and starts the next.
func (c arc) close(now time.Time) arc {
	mean := 0.0
	if c.n > 0 {
		mean = c.sum / float64(c.n)
	}
	rising := c.n > 0 && c.past > 0 && mean > c.past+max(arcDeviations*c.dev, arcTolerance*c.past, arcFloor)
	switch {
	case c.pressure || rising:
		c.ceiling, c.held, c.steady = c.limit, 0, true
		c.limit = max(1, int(float64(c.limit)*arcDecrease))
	case c.full && c.limit < c.max:
		if c.ceiling > 0 && c.limit+1 >= c.ceiling && c.held < holdWindows {
			c.held++
			break
		}
		if c.steady {
			c.limit++
		} else {
			c.limit = min(2*c.limit, c.max)
		}
		if c.limit >= c.ceiling {
			c.ceiling, c.held = 0, 0
		}
	}
	if c.n > 0 {
		if c.past == 0 {
			c.past = mean
		} else {
			c.dev = (1-arcAlpha)*c.dev + arcAlpha*abs(mean-c.past)
			c.past = (1-arcAlpha)*c.past + arcAlpha*mean
		}
	}
	c.start, c.sum, c.n, c.pressure, c.full = now, 0, 0, false, false
	return c
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
