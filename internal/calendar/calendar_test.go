package calendar_test

import (
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/calendar"
)

func TestMonthlyPeriodsFromAMonthEndStayOnMonthEnds(t *testing.T) {
	anchor := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	want := []string{"2024-12-31", "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"}
	for n, w := range want {
		if got := calendar.Add(anchor, 0, n, 0).Format(time.DateOnly); got != w {
			t.Errorf("%d months after %s: %s, want %s", n, anchor.Format(time.DateOnly), got, w)
		}
	}
	if got := calendar.Add(time.Date(2024, 2, 29, 9, 30, 0, 0, time.UTC), 1, 0, 0); !got.Equal(time.Date(2025, 2, 28, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("a year after 2024-02-29 09:30: %s, want 2025-02-28 09:30", got)
	}
	if got := calendar.Add(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), 0, -1, 0); got.Format(time.DateOnly) != "2026-02-28" {
		t.Errorf("a month before 2026-03-31: %s, want 2026-02-28", got)
	}
	if got := calendar.Add(time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), 0, 0, 7); got.Format(time.DateOnly) != "2026-12-22" {
		t.Errorf("a week after 2026-12-15: %s", got)
	}
}
