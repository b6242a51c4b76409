package sandbox_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
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

// Producers choose agent names, and the events' size: a sandbox WithKeep
// counts at most MaxUsageKeys names (the rest under OtherKey, still
// counted) and keeps no more than about its byte bound of events to show.
func TestKeepBoundsNamesAndBytes(t *testing.T) {
	const keepBytes = 1 << 20
	sb, srv := start(t, sandbox.WithKeepBytes(keepBytes), sandbox.WithKeep(1000))
	big := strings.Repeat("x", 20<<10)
	for i := range sandbox.MaxUsageKeys + 50 {
		ev := run(fmt.Sprintf("run-%d", i), "platform", fmt.Sprintf("agent-%d", i))
		if i < 200 {
			ev["data"] = map[string]any{"agent_name": fmt.Sprintf("agent-%d", i), "pad": big[:len(big)-i]}
		}
		if a := post(t, srv.URL+ingest, batchType, []any{ev}); a.status != http.StatusAccepted {
			t.Fatalf("status %d %s", a.status, a.body)
		}
	}
	u := sb.Usage()
	if len(u.ByAgentName) != sandbox.MaxUsageKeys+1 || u.ByAgentName[sandbox.OtherKey] != 50 || u.Events != sandbox.MaxUsageKeys+50 {
		t.Errorf("%d agent names, %d under %q, %d events; want %d names, 50 others, every event counted", len(u.ByAgentName), u.ByAgentName[sandbox.OtherKey], sandbox.OtherKey, u.Events, sandbox.MaxUsageKeys+1)
	}
	kept := 0
	for _, e := range sb.Events() {
		kept += len(e.Raw) + len(e.Data)
	}
	if kept > 2*keepBytes {
		t.Errorf("kept %d events of %d KiB in all, want at most about %d KiB", len(sb.Events()), kept>>10, keepBytes>>10)
	}
}
