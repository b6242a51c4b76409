package bridge_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// "Batches actually batched": 200 events published quickly reach Konnect in
// fewer requests than events, none bigger than BRIDGE_BATCH_SIZE, each a
// CloudEvents batch.
func TestBatchesActuallyBatched(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *config.Config) { c.Batch.Size = 25 })
	all := runs("batched", 200)
	e.publishRuns(all)
	e.waitHeld(len(all))
	e.waitSettled()

	// Leave out the start-up check of the token, an empty batch.
	reqs := slices.DeleteFunc(e.konnect.Requests(), func(r sandbox.Request) bool { return r.Events == 0 })
	if len(reqs) >= len(all) {
		t.Errorf("%d requests for %d events: nothing was batched", len(reqs), len(all))
	}
	largest := 0
	for _, r := range reqs {
		largest = max(largest, r.Events)
		if r.Events > e.cfg.Batch.Size {
			t.Errorf("a request carried %d events, more than BRIDGE_BATCH_SIZE %d", r.Events, e.cfg.Batch.Size)
		}
		if r.ContentType != "application/cloudevents-batch+json" {
			t.Errorf("a request was sent as %q, want application/cloudevents-batch+json", r.ContentType)
		}
		if r.Status != http.StatusAccepted {
			t.Errorf("Konnect answered a request %d: %s", r.Status, r.Detail)
		}
	}
	if largest < 2 {
		t.Errorf("no request carried more than one event")
	}
	if got := e.konnect.AcceptedEvents(); got != len(all) {
		t.Errorf("Konnect's requests carried %d events, want %d", got, len(all))
	}
	t.Logf("%d events in %d requests, the largest %d", len(all), len(reqs), largest)
}
