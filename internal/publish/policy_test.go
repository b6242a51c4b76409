package publish

import (
	"testing"
	"time"
)

// TestDecide: the sender's retry policy, one answer at a time.
func TestDecide(t *testing.T) {
	l := Limits{RetryBudget: 10 * time.Second, MaxBackoff: 2 * time.Second, NakDelay: 30 * time.Second, ProbeMax: 8 * time.Second}
	ok := Answer{Verdict: Delivered, Status: 202}
	bad := Answer{Verdict: Rejected, Status: 400}
	busy := Answer{Verdict: RetryLater, Status: 503}
	wait := Answer{Verdict: RetryLater, Status: 429, Delay: 3 * time.Second, Pause: true}
	refused := Answer{Verdict: Outage, Status: 401}
	proxy413 := Answer{Verdict: Rejected, Status: 413, Unexpected: true}
	tests := map[string]struct {
		p    progress
		a    Answer
		want step
	}{
		"delivered":                        {progress{events: 100}, ok, step{do: deliverAll, next: progress{events: 100}}},
		"one event rejected: dead-letter":  {progress{events: 1}, bad, step{do: deadLetter, next: progress{events: 1}}},
		"several rejected: split":          {progress{events: 100}, bad, step{do: split, next: progress{events: 100}}},
		"first failure: backoff from 50ms": {progress{events: 10}, busy, step{do: retry, wait: 50 * time.Millisecond, next: progress{events: 10, retries: 1}}},
		"backoff jitter adds up to half":   {progress{events: 10, jitter: 0.5}, busy, step{do: retry, wait: 75 * time.Millisecond, next: progress{events: 10, retries: 1, jitter: 0.5}}},
		"backoff doubles":                  {progress{events: 10, retries: 3}, busy, step{do: retry, wait: 400 * time.Millisecond, next: progress{events: 10, retries: 4}}},
		"backoff is capped":                {progress{events: 10, retries: 30}, busy, step{do: retry, wait: time.Second, next: progress{events: 10, retries: 31}}},
		"Retry-After beats the backoff":    {progress{events: 10}, wait, step{do: retry, wait: 3 * time.Second, next: progress{events: 10, retries: 1}}},
		"budget spent: hand back":          {progress{events: 10, retries: 5, elapsed: 9990 * time.Millisecond}, busy, step{do: handBack, wait: 30 * time.Second, next: progress{events: 10, retries: 6, elapsed: 9990 * time.Millisecond}}},
		"Retry-After past the budget":      {progress{events: 10, elapsed: 8 * time.Second}, wait, step{do: handBack, wait: 30 * time.Second, next: progress{events: 10, retries: 1, elapsed: 8 * time.Second}}},
		"the budget spans the splits": {progress{events: 50, retries: 4, elapsed: 9900 * time.Millisecond}, busy,
			step{do: handBack, wait: 30 * time.Second, next: progress{events: 50, retries: 5, elapsed: 9900 * time.Millisecond}}},
		"outage: probe after a second":       {progress{events: 10}, refused, step{do: probe, wait: time.Second, outage: true, next: progress{events: 10, probing: time.Second}}},
		"outage again: probe doubles":        {progress{events: 10, probing: 2 * time.Second}, refused, step{do: probe, wait: 4 * time.Second, outage: true, next: progress{events: 10, probing: 4 * time.Second}}},
		"outage: probe is capped":            {progress{events: 10, probing: 8 * time.Second}, refused, step{do: probe, wait: 8 * time.Second, outage: true, next: progress{events: 10, probing: 8 * time.Second}}},
		"a proxy's 413 to one event: outage": {progress{events: 1}, proxy413, step{do: probe, wait: time.Second, outage: true, next: progress{events: 1, probing: time.Second}}},
		"a proxy's 413 to several: split":    {progress{events: 10}, proxy413, step{do: split, next: progress{events: 10}}},
		"probe fails on the way: hold":       {progress{events: 10, probing: 2 * time.Second}, busy, step{do: probe, wait: 2 * time.Second, next: progress{events: 10, probing: 2 * time.Second}}},
		"probe answered Retry-After":         {progress{events: 10, probing: 2 * time.Second}, wait, step{do: probe, wait: 3 * time.Second, next: progress{events: 10, probing: 2 * time.Second}}},
		"probe delivered: recovered":         {progress{events: 10, probing: 4 * time.Second}, ok, step{do: deliverAll, recovered: true, next: progress{events: 10}}},
		"probe rejected: recovered, split":   {progress{events: 10, probing: 4 * time.Second}, bad, step{do: split, recovered: true, next: progress{events: 10}}},
		"probe spends no retry budget": {progress{events: 10, probing: time.Second, elapsed: time.Hour}, busy,
			step{do: probe, wait: time.Second, next: progress{events: 10, probing: time.Second, elapsed: time.Hour}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := decide(tc.p, tc.a, l); got != tc.want {
				t.Errorf("decide(%+v, %v %d) = %v after %s %+v (recovered %v), want %v after %s %+v (recovered %v)",
					tc.p, tc.a.Verdict, tc.a.Status, got.do, got.wait, got.next, got.recovered, tc.want.do, tc.want.wait, tc.want.next, tc.want.recovered)
			}
		})
	}
}
