package billing

import (
	"encoding/json"
	"testing"
	"time"
)

// TestRateCardsOfThePhaseInEffect: a plan's phases follow each other from
// the subscription's start for their durations; the last one lasts.
func TestRateCardsOfThePhaseInEffect(t *testing.T) {
	var p Plan
	err := json.Unmarshal([]byte(`{"id":"01JF0000000000000000000101","key":"agent_runs","phases":[
{"key":"trial","duration":"P14D","rate_cards":[{"key":"trial_runs","feature":{"id":"01JF0000000000000000000102"},"price":{"type":"free"}}]},
{"key":"paid","rate_cards":[{"key":"agent_runs","feature":{"id":"01JF0000000000000000000102"},"price":{"type":"unit","amount":"0.10"}}]}]}`), &p)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		at   time.Time
		want string
	}{
		"first day":            {start, "trial_runs"},
		"last moment of trial": {start.AddDate(0, 0, 14).Add(-time.Nanosecond), "trial_runs"},
		"after the trial":      {start.AddDate(0, 0, 14), "agent_runs"},
		"a year on":            {start.AddDate(1, 0, 0), "agent_runs"},
	}
	for name, tc := range tests {
		cards, err := p.cardsAt(start, tc.at)
		if err != nil || len(cards) != 1 || cards[0].Key != tc.want || cards[0].Feature == nil {
			t.Errorf("%s: %+v, %v; want the rate card %s", name, cards, err, tc.want)
		}
	}
}
