package publish_test

import (
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// TestRetryBudgetCoversTheSplits: Konnect rejects every request of several
// events (so the bridge splits the batch down to single events) and
// answers 503 to every single event. One retry budget covers the batch and
// all its parts: once the first part spent it, each of the others is tried
// about once and handed back, instead of each getting a budget of its own.
func TestRetryBudgetCoversTheSplits(t *testing.T) {
	ids := runIDs(4)
	var (
		mu    sync.Mutex
		tries = map[string]int{}
		id    = regexp.MustCompile(`"id":"(run-\d+)"`)
	)
	k := testkit.NewKonnect(t, sandbox.WithToken(token), sandbox.WithFault(func(w http.ResponseWriter, r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		found := id.FindAllSubmatch(body, -1)
		if len(found) != 1 {
			return sandbox.Answer(http.StatusBadRequest, 0)(w, r)
		}
		mu.Lock()
		tries[string(found[0][1])]++
		mu.Unlock()
		return sandbox.Answer(http.StatusServiceUnavailable, 0)(w, r)
	}))
	lim := limits()
	lim.Size, lim.InFlight, lim.RetryBudget = len(ids), 1, 400*time.Millisecond
	l := newLedger(t)
	runBacklog(t, k.URL, lim, items(l, ids))

	l.settledOnce(ids)
	for _, i := range ids {
		if o := l.outcome(i); o.Fate != delivery.HandBack || o.Delay != lim.NakDelay {
			t.Errorf("%s: %v after %s, want handed back after BRIDGE_NAK_DELAY", i, o.Fate, o.Delay)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if tries[ids[0]] < 3 {
		t.Errorf("the first part was tried %d times, want it to retry until the budget was spent", tries[ids[0]])
	}
	for _, i := range ids[1:] {
		// Its first try may come just before the budget is spent.
		if tries[i] > 2 {
			t.Errorf("%s was tried %d times after the first part spent the batch's budget: each part got a budget of its own (tries %v)", i, tries[i], tries)
		}
	}
}
