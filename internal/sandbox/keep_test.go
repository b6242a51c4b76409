package sandbox_test

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// A sandbox that runs for days keeps only the last events and requests to
// show, but counts every event, deduplicated: the usage stays exact.
func TestKeepBoundsWhatIsShownNotWhatIsCounted(t *testing.T) {
	sb, srv := start(t, sandbox.WithKeep(3))
	for i := range 10 {
		batch := []any{run(fmt.Sprintf("run-%d", i), "platform", "summarizer")}
		for range 2 { // every batch twice: duplicates are not counted
			if a := post(t, srv.URL+ingest, batchType, batch); a.status != http.StatusAccepted {
				t.Fatalf("status %d %s", a.status, a.body)
			}
		}
	}
	if got, want := ids(sb.Events()), []string{"platform/run-7", "platform/run-8", "platform/run-9"}; !reflect.DeepEqual(got, want) {
		t.Errorf("kept %v, want the last three %v", got, want)
	}
	if got := len(sb.Requests()); got != 3 {
		t.Errorf("kept %d requests, want the last 3", got)
	}
	want := sandbox.Usage{Events: 10, ByType: map[string]int{"agent_run": 10}, BySubject: map[string]int{"acme-inc": 10}, ByAgentName: map[string]int{"summarizer": 10}}
	if got := sb.Usage(); !reflect.DeepEqual(got, want) {
		t.Errorf("Usage() = %+v, want every event counted once: %+v", got, want)
	}
}
