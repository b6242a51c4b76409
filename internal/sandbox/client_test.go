package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

const (
	oneType   = "application/cloudevents+json"
	batchType = "application/cloudevents-batch+json"
	ingest    = "/v3/openmeter/events"
)

// guideEvent is one of the guide's curl bodies, as a developer would send it.
func guideEvent(id, agent string) string {
	return `{
"specversion": "1.0",
"type": "agent_run",
"id": "` + id + `",
"source": "acme-platform",
"time": "2026-01-02T03:04:05Z",
"datacontenttype": "application/json",
"subject": "acme-inc",
"data": {
"agent_name": "` + agent + `"
}
}`
}

// run is an agent_run event for acme-inc.
func run(id, source, agent string) map[string]any {
	return map[string]any{
		"specversion": "1.0", "type": "agent_run", "id": id, "source": source, "subject": "acme-inc",
		"time": "2026-01-02T03:04:05Z", "datacontenttype": "application/json",
		"data": map[string]any{"agent_name": agent},
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// post sends body (a string, or anything to marshal) with the given headers
// ("Name: value").
func post(t *testing.T, url, contentType string, body any, headers ...string) answer {
	t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	return do(t, req)
}

func get(t *testing.T, url string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, body}
}

func start(t *testing.T, opts ...sandbox.Option) (*sandbox.Sandbox, *httptest.Server) {
	t.Helper()
	sb := sandbox.New(opts...)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv
}

func ids(events []sandbox.Event) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, e.Source+"/"+e.ID)
	}
	return out
}

func waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
