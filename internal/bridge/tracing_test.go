package bridge_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// "A trace of an agent run continues into the batch that billed it": the
// producers' trace contexts, from the event's traceparent attribute, a
// binary-mode ce-traceparent header or a traceparent NATS header, are
// links of the spans of the batches that delivered them; Konnect gets the
// events without the attribute; a dead letter is a span linked to its
// producer's trace.
func TestTracesContinueIntoBatchesAndDeadLetters(t *testing.T) {
	t.Parallel()
	traces := map[string]string{
		"attribute": "0af7651916cd43dd8448eb211c80319c",
		"ce-header": "4bf92f3577b34da6a3ce929d0e0e4736",
		"header":    "5b8efff798038103d269b633813fc60c",
		"dead":      "6e0c63257de34c92bf9efcd03927272e",
	}
	tp := func(name string) string { return "00-" + traces[name] + "-00f067aa0ba902b7-01" }
	exp := tracetest.NewInMemoryExporter()
	ns := testkit.NATS(t)
	k := testkit.NewKonnect(t)
	_, logger := testkit.NewLog(t)
	testkit.StartBridgeLog(t, testkit.Config(ns.ClientURL(), k.URL), logger,
		bridge.WithTracer(tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))))
	_, js := testkit.Connect(t, ns.ClientURL())

	testkit.Publish(t, js, "agent.runs.acme", structured("traced-attribute", func(ev map[string]any) { ev["traceparent"] = tp("attribute") }))
	binary := binaryMsg("agent.runs.acme", run("traced-ce-header"))
	binary.Header.Set("ce-traceparent", tp("ce-header"))
	headed := payload("agent.runs.acme", run("traced-header").JSON())
	headed.Header = nats.Header{"traceparent": {tp("header")}}
	dead := payload("agent.runs.acme", structured("traced-dead", func(ev map[string]any) { delete(ev, "subject") }))
	dead.Header = nats.Header{"traceparent": {tp("dead")}}
	for _, m := range []*nats.Msg{binary, headed, dead} {
		ctx, cancel := brief()
		_, err := js.PublishMsg(ctx, m)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, wait, func() bool { return len(k.IDs()) == 3 }, "Konnect holds %d events, want 3", len(k.IDs()))
	for _, e := range k.Events() {
		if strings.Contains(string(e.Raw), "traceparent") {
			t.Errorf("Konnect got a traceparent: %s", e.Raw)
		}
	}

	linked := func(name string) (links []string, kinds []string) {
		for _, s := range exp.GetSpans() {
			if s.Name != name {
				continue
			}
			for _, l := range s.Links {
				links = append(links, l.SpanContext.TraceID().String())
			}
			for _, a := range s.Attributes {
				if a.Key == tracing.AttrKind {
					kinds = append(kinds, a.Value.AsString())
				}
			}
		}
		return links, kinds
	}
	testkit.Eventually(t, wait, func() bool {
		batches, _ := linked("deliver batch")
		dl, kinds := linked("dead-letter event")
		return slices.Contains(batches, traces["attribute"]) && slices.Contains(batches, traces["ce-header"]) && slices.Contains(batches, traces["header"]) &&
			slices.Equal(dl, []string{traces["dead"]}) && slices.Equal(kinds, []string{"invalid"})
	}, "batch spans linked to the three producers' traces and one dead-letter span linked to its own")
	for _, s := range exp.GetSpans() {
		if s.Name == "deliver batch" && !slices.Contains(s.Attributes, tracing.AttrStatus.Int(202)) {
			t.Errorf("a batch span without Konnect's 202: %v", s.Attributes)
		}
	}
}
