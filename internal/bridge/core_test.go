package bridge_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// A producer on core NATS using request/reply is answered only once the
// bridge knows what became of its event: accepted once Konnect holds it,
// dead_lettered when it is invalid, retry while Konnect fails.
func TestCoreNATSRequestReplyIsAnsweredAfterKonnect(t *testing.T) {
	t.Parallel()
	const subject = "core.agent.runs.acme"
	e := start(t, func(c *config.Config) {
		c.Bridge.CoreSubject = "core.agent.runs.>"
		c.Retry.Budget = 300 * time.Millisecond
	})
	// The bridge reports itself started before its core NATS subscription
	// reaches the server; a producer would see "no responders" until then.
	testkit.Eventually(t, wait, func() bool { return e.nats.GlobalAccount().SubscriptionInterest(subject) },
		"the bridge did not subscribe to %s", subject)
	cases := map[string]struct {
		event  []byte
		fault  sandbox.Fault
		status string
		// reason is what a refusal's reason names.
		reason string
		held   bool
	}{
		"accepted once Konnect holds the event": {
			event: run("core-accepted").JSON(), status: "accepted", held: true,
		},
		"dead_lettered when the event is invalid": {
			event: structured("core-invalid", func(ev map[string]any) { delete(ev, "subject") }), status: "dead_lettered", reason: "subject:",
		},
		"retry while Konnect fails": {
			event: run("core-retry").JSON(), fault: sandbox.Answer(http.StatusServiceUnavailable, 0), status: "retry", reason: "503",
		},
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			e.konnect.SetFault(c.fault)
			defer e.konnect.SetFault(nil)
			var ev struct{ ID, Source string }
			_ = json.Unmarshal(c.event, &ev)

			reply, err := e.nc.Request(subject, c.event, wait)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			// Read Konnect at once: the answer must not come before it holds the event.
			held := e.konnect.IDs()[ev.Source+"/"+ev.ID]
			var answer struct {
				Status       string `json:"status"`
				Reason       string `json:"reason"`
				RetryAfterMS int64  `json:"retry_after_ms"`
			}
			if err := json.Unmarshal(reply.Data, &answer); err != nil {
				t.Fatalf("answer %q: %v", reply.Data, err)
			}
			if answer.Status != c.status || !strings.Contains(answer.Reason, c.reason) {
				t.Errorf("answer %s, want status %q with a reason naming %q", reply.Data, c.status, c.reason)
			}
			if held != c.held {
				t.Errorf("when the producer was answered, Konnect held the event: %v, want %v", held, c.held)
			}
			if c.status == "retry" && answer.RetryAfterMS != e.cfg.Retry.NakDelay.Milliseconds() {
				t.Errorf("retry_after_ms = %d, want BRIDGE_NAK_DELAY %d", answer.RetryAfterMS, e.cfg.Retry.NakDelay.Milliseconds())
			}
		})
	}

	var fromCore []string
	for _, dl := range e.deadLetters() {
		if dl.Header.Get("Konnect-Bridge-Subject") == subject {
			fromCore = append(fromCore, dl.Header.Get("Konnect-Bridge-Reason"))
		}
	}
	if len(fromCore) != 1 || !strings.Contains(fromCore[0], "subject:") {
		t.Errorf("dead letters from %s: %q, want the invalid event's", subject, fromCore)
	}
}
