package bridge_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// A run timed a day ahead would bill in a period nobody invoices yet. With
// BRIDGE_TIME_POLICY=flag it is delivered and counted; with deadletter it is
// dead-lettered as out_of_time, naming its time, the bound and the setting,
// and the runs around it are delivered.
func TestRunTimedADayAheadIsFlaggedOrDeadLettered(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"flag", "deadletter"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			e := start(t, func(c *config.Config) { c.Bridge.TimePolicy = policy })
			all := runs("ahead-"+policy, 5)
			for i := range all {
				all[i].Time = time.Now().UTC().Truncate(time.Second)
			}
			ahead := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
			all[2].Time = ahead
			e.publishRuns(all)

			want := all
			if policy == "deadletter" {
				want = slices.Delete(slices.Clone(all), 2, 3)
			}
			e.waitHeld(len(want))
			e.waitSettled()
			if got := e.konnect.IDs(); !maps.Equal(got, keys(want...)) {
				t.Errorf("Konnect holds %v, want %v", got, keys(want...))
			}
			if got := e.scrape().series[`konnect_bridge_events_time_out_of_bounds_total{bound="future"}`]; got != 1 {
				t.Errorf("events_time_out_of_bounds_total{bound=\"future\"} = %v, want 1", got)
			}
			if _, _, page := e.get("/"); !strings.Contains(string(page), `<td id="time-future">1</td>`) {
				t.Errorf("the status page does not count the run timed ahead")
			}
			dls := e.deadLetters()
			if policy == "flag" {
				if len(dls) != 0 {
					t.Fatalf("%d dead letters, want none: flag delivers", len(dls))
				}
				return
			}
			if len(dls) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dls))
			}
			h := dls[0].Header
			if got := h.Get("Konnect-Bridge-Reason-Kind"); got != "out_of_time" {
				t.Errorf("kind %q, want out_of_time", got)
			}
			reason := h.Get("Konnect-Bridge-Reason")
			for _, s := range []string{"time " + ahead.Format(time.RFC3339), "ahead of the bridge's clock", "BRIDGE_MAX_FUTURE=", "BRIDGE_TIME_POLICY=deadletter"} {
				if !strings.Contains(reason, s) {
					t.Errorf("reason %q lacks %q", reason, s)
				}
			}
		})
	}
}
