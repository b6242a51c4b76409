package tracing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/internal/tracing"
)

// Tracing is off unless the standard environment asks for it, and a
// protocol the bridge cannot speak is refused naming the setting.
func TestFromEnv(t *testing.T) {
	tests := map[string]struct {
		env     map[string]string
		on      bool
		refused string
	}{
		"nothing set":          {},
		"endpoint":             {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, on: true},
		"traces endpoint":      {env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, on: true},
		"grpc":                 {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, on: true},
		"SDK disabled":         {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}},
		"traces exporter none": {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}},
		"unknown protocol":     {env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, refused: "OTEL_EXPORTER_OTLP_PROTOCOL"},
	}
	for name, tt := range tests {
		tr, shutdown, err := tracing.FromEnv(context.Background(), func(k string) string { return tt.env[k] }, "1.2.3", zerolog.Nop())
		switch {
		case tt.refused != "":
			if err == nil || !strings.Contains(err.Error(), tt.refused) {
				t.Errorf("%s: %v, want a refusal naming %s", name, err, tt.refused)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", name, err)
			continue
		}
		if (tr != nil) != tt.on {
			t.Errorf("%s: tracing on %v, want %v", name, tr != nil, tt.on)
		}
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("%s: shutdown with nothing to send: %v", name, err)
		}
	}
}

// Off (a nil Tracer), every span call returns at once.
func TestOffRecordsNothing(t *testing.T) {
	var tr *tracing.Tracer
	b := tr.StartBatch(context.Background(), 3, func(int) string { return "" })
	b.Request(202, "delivered", false)
	b.Settled(true, false)
	b.End()
	tr.DeadLetter("", "agent.runs.acme", "invalid", "subject: missing", nil)
	if b != nil {
		t.Error("a batch span from a nil tracer")
	}
}
