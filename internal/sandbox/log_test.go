package sandbox_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// With a logger, the sandbox says, one line per request, what it stored
// and what it refused, and never the token.
func TestSandboxLogsEachRequestThroughTheLoggerItIsGiven(t *testing.T) {
	var logged bytes.Buffer
	_, srv := start(t, sandbox.WithToken("spat_secret"), sandbox.WithLogger(zerolog.New(&logged)))
	body := "[" + guideEvent("8655CDD7-0775-4AEA-AF8C-89C47EBC8828", "summarizer") + "]"
	post(t, srv.URL+ingest, batchType, body, "Authorization: Bearer spat_secret")
	post(t, srv.URL+ingest, batchType, body, "Authorization: Bearer spat_wrong")

	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(logged.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %q is not zerolog's JSON: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 || lines[0]["message"] != "sandbox accepted events" || lines[0]["stored"] != 1.0 ||
		lines[1]["message"] != "sandbox refused request" || lines[1]["status"] != 401.0 {
		t.Errorf("logged %s, want one accepted line (stored 1) and one refused (401)", logged.String())
	}
	if bytes.Contains(logged.Bytes(), []byte("spat_")) {
		t.Errorf("a token reached the log: %s", logged.String())
	}
}
