package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/mapping"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// Reading the stream maps a message as delivery does: the derived id, the
// rule's customer, the stream sequence the rule sees; and names the rule and
// field of a message delivery dead-letters as unmappable.
func TestStreamReadsMappedMessagesAsDeliveryDoes(t *testing.T) {
	s := natsStage(t)
	m, err := mapping.Parse("mapping.yaml", []byte(`
mappings:
  - subject: "agent.runs.raw.>"
    type: "'agent_run'"
    source: "'acme-runner'"
    customer: "subject.split('.')[3]"
    data: "{'agent_name': msg.agent, 'seq': seq}"
`))
	if err != nil {
		t.Fatal(err)
	}
	s.stream.Rules = consume.Rules{Mapping: m}
	seq := testkit.Publish(t, s.js, "agent.runs.raw.acme", []byte(`{"agent":"triage"}`)).Sequence
	testkit.Publish(t, s.js, "agent.runs.raw.acme", []byte(`{"model":"m-1"}`))

	var reads []billing.Read
	if err := s.stream.Read(context.Background(), lastHour(), 0, func(r billing.Read) error { reads = append(reads, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(reads) != 2 {
		t.Fatalf("read %d events, want 2", len(reads))
	}
	info, err := s.js.Stream(context.Background(), "AGENT_RUNS")
	if err != nil {
		t.Fatal(err)
	}
	e := reads[0].Event
	var data struct{ Seq uint64 }
	if reads[0].Err != nil || e == nil || json.Unmarshal(e.Data(), &data) != nil {
		t.Fatalf("mapped record read as %v, %v", e, reads[0].Err)
	}
	if want := consume.StoredIDBase(info.CachedInfo(), seq); e.ID() != want || e.Subject() != "acme" || data.Seq != seq {
		t.Errorf("mapped record is id %q customer %q seq %d, want %q, acme, %d", e.ID(), e.Subject(), data.Seq, want, seq)
	}
	if err := reads[1].Err; !errors.Is(err, mapping.ErrUnmappable) || !strings.Contains(err.Error(), "data: no such key: agent") {
		t.Errorf("the record without agent read with %v, want it unmappable naming data", err)
	}
}
