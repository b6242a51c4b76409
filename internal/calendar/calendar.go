// Package calendar steps through billing periods as Konnect (OpenMeter)
// counts them: a month after January 31 is February 28 (or 29), not
// March 3, and the next month after that is March 31 again, for every
// period is counted from the anchor.
package calendar

import "time"

// Add is t moved by years, months and days, the day of the month kept
// where the target month has it and else clamped to its last day.
func Add(t time.Time, years, months, days int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y+years, m+time.Month(months), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1+days)
}
