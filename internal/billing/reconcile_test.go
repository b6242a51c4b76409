package billing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// TestReconcileFindsWhatWillNotBeInvoiced: 250 runs in the stream; Konnect
// stored all but two, one without the property its meter sums, three for a
// subject no customer has. Konnect's list takes several pages.
func TestReconcileFindsWhatWillNotBeInvoiced(t *testing.T) {
	s := newStage(t,
		sandbox.WithMeter(sandbox.Meter{Key: "tokens_total", Name: "Tokens", EventType: "agent_run", Aggregation: "sum", ValueProperty: "$.tokens"}),
		sandbox.WithCustomer(sandbox.GuideCustomer))
	at := time.Now().Add(-30 * time.Minute)
	var all, delivered []map[string]any
	for i := range 250 {
		subject, data := "acme-inc", map[string]any{"agent_name": "summarizer", "tokens": i}
		if i == 7 {
			delete(data, "tokens")
		}
		if i >= 20 && i < 23 {
			subject = "nobody"
		}
		e := event(fmt.Sprintf("run-%d", i), subject, data, at.Add(time.Duration(i)*time.Second))
		all = append(all, e)
		if i != 100 && i != 249 {
			delivered = append(delivered, e)
		}
	}
	seqs := s.publish(t, all...)
	s.deliver(t, delivered...)
	s.publish(t, all[3]) // sent again: Konnect keeps one

	for _, chunk := range []int{0, 60} {
		t.Run(fmt.Sprintf("chunk %d", chunk), func(t *testing.T) {
			s.lists.Store(0)
			rc := billing.Reconciler{Client: s.client, Stream: s.stream, AckFloor: seqs[248], Chunk: chunk}
			r, err := rc.Run(context.Background(), lastHour(), "")
			if err != nil {
				t.Fatal(err)
			}
			// In one chunk the event sent again is a duplicate; in another
			// it is found stored a second time.
			if r.Duplicates.Count+r.Stored.Count != 245 || (chunk == 0) != (r.Duplicates.Count == 1) {
				t.Errorf("%d duplicates and %d stored, want 1 and 244 in one chunk, 0 and 245 across chunks", r.Duplicates.Count, r.Stored.Count)
			}
			if r.Events != 251 || r.Missing.Count != 1 || r.Invalid.Count != 1 || r.Unattributed.Count != 3 || r.Pending.Count != 1 {
				t.Errorf("events %d: missing %d, invalid %d, without customer %d, pending %d; want 251: 1, 1, 3, 1",
					r.Events, r.Missing.Count, r.Invalid.Count, r.Unattributed.Count, r.Pending.Count)
			}
			if ids(r.Missing) != "[run-100]" || ids(r.Invalid) != "[run-7]" || ids(r.Pending) != "[run-249]" || ids(r.Unattributed) != "[run-20 run-21 run-22]" {
				t.Errorf("examples: missing %s, invalid %s, pending %s, without customer %s", ids(r.Missing), ids(r.Invalid), ids(r.Pending), ids(r.Unattributed))
			}
			if r.Invalid.Examples[0].Detail == "" {
				t.Error("the event with validation errors does not say which")
			}
			if r.OK() {
				t.Error("OK with a missing event")
			}
			if n := s.lists.Load(); n < 3 {
				t.Errorf("%d pages of stored events read, want several (248 stored, 100 a page)", n)
			}
		})
	}

	r, err := billing.Reconciler{Client: s.client, Stream: s.stream, AckFloor: seqs[249]}.Run(context.Background(), lastHour(), "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 3 || r.Unattributed.Count != 3 || r.Missing.Count != 0 {
		t.Errorf("--subject nobody: %d events, %d without customer, %d missing; want 3, 3, 0", r.Events, r.Unattributed.Count, r.Missing.Count)
	}
}

func TestReconcileOfAnEmptyWindow(t *testing.T) {
	s := newStage(t, sandbox.WithGuide())
	s.publish(t, event("old", "acme-inc", nil, time.Now()))
	r, err := billing.Reconciler{Client: s.client, Stream: s.stream}.Run(context.Background(), billing.Window{From: time.Now().Add(time.Minute)}, "")
	if err != nil || r.Events != 0 || !r.OK() {
		t.Errorf("a window after every message: %+v, %v; want no events and OK", r, err)
	}
}

// Events delivery dead-letters are counted apart, with the id, customer and
// reason of those that could be read: an invalid event names its own, and
// counts for its customer; a message that is not JSON has none to name.
func TestReconcileNamesTheEventsDeliveryDeadLetters(t *testing.T) {
	s := newStage(t, sandbox.WithGuide())
	at := time.Now().Add(-10 * time.Minute)
	good := event("run-1", "acme-inc", map[string]any{"agent_name": "summarizer"}, at)
	bad := event("bad-1", "acme-inc", nil, at)
	bad["datacontenttype"], bad["data"] = "text/plain", "x"
	s.publish(t, good, bad)
	testkit.Publish(t, s.js, "agent.runs.acme", []byte("not json"))
	s.deliver(t, good)

	r, err := billing.Reconciler{Client: s.client, Stream: s.stream}.Run(context.Background(), lastHour(), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 3 || r.Stored.Count != 1 || r.Undeliverable.Count != 2 || r.Missing.Count != 0 {
		t.Fatalf("events %d: stored %d, dead-lettered %d, missing %d; want 3: 1, 2, 0", r.Events, r.Stored.Count, r.Undeliverable.Count, r.Missing.Count)
	}
	named := r.Undeliverable.Examples[0]
	if named.ID != "bad-1" || named.Subject != "acme-inc" || !strings.Contains(named.Detail, "datacontenttype") {
		t.Errorf("the invalid event's example is %+v, want id bad-1, customer acme-inc and the reason", named)
	}
	if raw := r.Undeliverable.Examples[1]; raw.ID != "" || !strings.Contains(raw.Detail, "undecodable") {
		t.Errorf("the message that is not JSON is %+v, want no id and the reason", raw)
	}

	for customer, want := range map[string]int{"acme-inc": 1, "globex": 0} {
		r, err := billing.Reconciler{Client: s.client, Stream: s.stream}.Run(context.Background(), lastHour(), customer)
		if err != nil {
			t.Fatal(err)
		}
		if r.Undeliverable.Count != want {
			t.Errorf("--customer %s: %d dead-lettered, want %d", customer, r.Undeliverable.Count, want)
		}
	}
}
