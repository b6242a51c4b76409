package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// stage is a real NATS server with the bridge's stream, and a Konnect
// stand-in checked against the published spec.
type stage struct {
	natsURL   string
	js        jetstream.JetStream
	sb        *sandbox.Sandbox
	ingestURL string
	lists     atomic.Int32 // pages of list-metering-events asked for
	subReads  atomic.Int32 // pages of list-subscriptions asked for
	client    *billing.Client
	stream    billing.Stream
}

func newStage(t testing.TB, opts ...sandbox.Option) *stage {
	t.Helper()
	s := natsStage(t)
	s.sb = sandbox.New(opts...)
	srv := testkit.SpecChecked(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/openmeter/events") {
			s.lists.Add(1)
		}
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/openmeter/subscriptions") {
			s.subReads.Add(1)
		}
		s.sb.ServeHTTP(w, r)
	}))
	s.ingestURL = srv.URL + "/v3/openmeter/events"
	s.client = billing.NewClient(s.ingestURL, "", 5*time.Second, 2*time.Second)
	return s
}

// newBillingStage is a stage whose Konnect bills: the guide's meter,
// customer, feature and plan, acme-inc subscribed to it from from.
func newBillingStage(t *testing.T, from time.Time, opts ...sandbox.Option) *stage {
	t.Helper()
	return newStage(t, append([]sandbox.Option{sandbox.WithGuide(), sandbox.WithStarted(from)}, opts...)...)
}

// natsStage is a stage with its NATS server and stream, without Konnect.
func natsStage(t testing.TB) *stage {
	t.Helper()
	ns := testkit.NATS(t)
	s := &stage{natsURL: ns.ClientURL()}
	_, s.js = testkit.Connect(t, s.natsURL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.js.CreateStream(ctx, jetstream.StreamConfig{Name: "AGENT_RUNS", Subjects: []string{"agent.runs.>"}}); err != nil {
		t.Fatal(err)
	}
	s.stream = billing.Stream{JS: s.js, Name: "AGENT_RUNS", Subject: "agent.runs.>"}
	return s
}

// event is an agent run for subject with data.
func event(id, subject string, data map[string]any, at time.Time) map[string]any {
	return map[string]any{"specversion": "1.0", "type": "agent_run", "id": id, "source": "acme-platform",
		"subject": subject, "time": at.UTC().Format(time.RFC3339), "data": data}
}

// publish stores each event as a message of the stream and returns their
// stream sequences.
func (s *stage) publish(t testing.TB, events ...map[string]any) []uint64 {
	t.Helper()
	var seqs []uint64
	for _, e := range events {
		raw, _ := json.Marshal(e)
		seqs = append(seqs, testkit.Publish(t, s.js, "agent.runs.acme", raw).Sequence)
	}
	return seqs
}

// publishMsg stores a message with headers.
func (s *stage) publishMsg(t *testing.T, msg *nats.Msg) {
	t.Helper()
	if _, err := s.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// deliver posts events to the stand-in as the bridge would, in batches.
func (s *stage) deliver(t *testing.T, events ...map[string]any) {
	t.Helper()
	for len(events) > 0 {
		n := min(len(events), 50)
		body, _ := json.Marshal(events[:n])
		resp, err := http.Post(s.ingestURL, "application/cloudevents-batch+json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("deliver: %d", resp.StatusCode)
		}
		events = events[n:]
	}
}

func lastHour() billing.Window { return billing.Window{From: time.Now().Add(-time.Hour)} }

func ids(o billing.Outcome) string {
	var out []string
	for _, x := range o.Examples {
		out = append(out, x.ID)
	}
	return fmt.Sprint(out)
}
