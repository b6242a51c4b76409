package publish

import (
	"testing"
	"time"
)

// TestARC: how one window of round trips moves the concurrency limit.
func TestARC(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	// window feeds one window of samples 50ms long, each with rtt, the
	// last closing it.
	window := func(c arc, rtt time.Duration, pressure, full bool) arc {
		start := c.start
		if start.IsZero() {
			start = t0
		}
		c = c.observe(sample{now: start, rtt: rtt, full: full})
		return c.observe(sample{now: start.Add(ms(50)), rtt: rtt, pressure: pressure, full: full})
	}
	steady := func(limit int) arc {
		return arc{limit: limit, max: 32, past: 0.050, dev: 0.001, steady: true, start: t0}
	}
	tests := map[string]struct {
		c          arc
		rtt        time.Duration
		pressure   bool
		full       bool
		want       int
		wantCeil   int
		wantSteady bool
	}{
		"slow start doubles while the limit is reached":    {c: arc{limit: 4, max: 32, past: 0.050, start: t0}, rtt: ms(50), full: true, want: 8},
		"slow start stops at the cap":                      {c: arc{limit: 24, max: 32, past: 0.050, start: t0}, rtt: ms(50), full: true, want: 32},
		"flat round trips at the limit: grow by one":       {c: steady(10), rtt: ms(50), full: true, want: 11, wantSteady: true},
		"flat round trips below the limit: hold":           {c: steady(10), rtt: ms(50), want: 10, wantSteady: true},
		"never past the cap":                               {c: steady(32), rtt: ms(50), full: true, want: 32, wantSteady: true},
		"a little jitter is flat":                          {c: steady(10), rtt: ms(54), full: true, want: 11, wantSteady: true},
		"rising round trips: cut":                          {c: steady(10), rtt: ms(80), full: true, want: 9, wantCeil: 10, wantSteady: true},
		"push back (429, 5xx, timeout): cut":               {c: steady(20), rtt: ms(50), pressure: true, full: true, want: 18, wantCeil: 20, wantSteady: true},
		"the first push back ends the slow start":          {c: arc{limit: 16, max: 32, past: 0.050, start: t0}, rtt: ms(50), pressure: true, want: 14, wantCeil: 16, wantSteady: true},
		"never below one":                                  {c: steady(1), rtt: ms(50), pressure: true, want: 1, wantCeil: 1, wantSteady: true},
		"just below the last cut: hold a while":            {c: func() arc { c := steady(9); c.ceiling = 10; return c }(), rtt: ms(50), full: true, want: 9, wantCeil: 10, wantSteady: true},
		"just below the last cut, long calm: try it again": {c: func() arc { c := steady(9); c.ceiling, c.held = 10, holdWindows; return c }(), rtt: ms(50), full: true, want: 10, wantSteady: true},
		"well below the last cut: grow":                    {c: func() arc { c := steady(5); c.ceiling = 10; return c }(), rtt: ms(50), full: true, want: 6, wantCeil: 10, wantSteady: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := window(tc.c, tc.rtt, tc.pressure, tc.full)
			if got.limit != tc.want || got.ceiling != tc.wantCeil || got.steady != tc.wantSteady {
				t.Errorf("limit %d, ceiling %d, steady %v; want %d, %d, %v", got.limit, got.ceiling, got.steady, tc.want, tc.wantCeil, tc.wantSteady)
			}
		})
	}
}

// TestARCWindows: the limit moves once per window, a window lasts about
// one round trip, and the first window learns the round trip.
func TestARCWindows(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	c := newARC(64)
	for i := range 5 {
		c = c.observe(sample{now: t0.Add(time.Duration(i) * time.Millisecond), rtt: 50 * time.Millisecond, full: true})
	}
	if c.limit != 1 {
		t.Fatalf("limit %d after 4ms of samples, want 1: a window lasts at least %s", c.limit, arcMinWindow)
	}
	c = c.observe(sample{now: t0.Add(arcMinWindow), rtt: 50 * time.Millisecond, full: true})
	if c.limit != 2 || c.past < 0.0499 || c.past > 0.0501 {
		t.Fatalf("limit %d, past %v after the first window; want 2 and 0.05", c.limit, c.past)
	}
	c = c.observe(sample{now: t0.Add(arcMinWindow + 40*time.Millisecond), rtt: 50 * time.Millisecond, full: true})
	if c.limit != 2 {
		t.Fatalf("limit %d 40ms into a window as long as the 50ms round trip, want 2", c.limit)
	}
	c = c.observe(sample{now: t0.Add(arcMinWindow + 50*time.Millisecond), rtt: 50 * time.Millisecond, full: true})
	if c.limit != 4 {
		t.Fatalf("limit %d after the second window of a slow start, want 4", c.limit)
	}
}
