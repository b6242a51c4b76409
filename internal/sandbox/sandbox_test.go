package sandbox_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

func TestGuideWalkThrough(t *testing.T) {
	sb, srv := start(t, sandbox.WithToken("spat_test"))
	sent := []string{
		guideEvent("8655CDD7-0775-4AEA-AF8C-89C47EBC8828", "summarizer"),
		guideEvent("3EC7EFD0-5B78-47A4-AE9E-15965675CF95", "summarizer"),
		guideEvent("48FC220C-C124-4B73-B378-7DC5CF88DD1A", "translator"),
	}
	for _, body := range sent {
		a := post(t, srv.URL+ingest, oneType, body, "Authorization: Bearer spat_test")
		if a.status != http.StatusAccepted || len(a.body) != 0 {
			t.Fatalf("POST %s: %d %q, want 202 and no body", ingest, a.status, a.body)
		}
	}

	want := sandbox.Usage{
		Events:      3,
		ByType:      map[string]int{"agent_run": 3},
		BySubject:   map[string]int{"acme-inc": 3},
		ByAgentName: map[string]int{"summarizer": 2, "translator": 1},
	}
	if got := sb.Usage(); !reflect.DeepEqual(got, want) {
		t.Errorf("Usage() = %+v, want %+v", got, want)
	}
	var usage map[string]any
	if err := json.Unmarshal(get(t, srv.URL+"/sandbox/usage").body, &usage); err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"events":3,"by_type":{"agent_run":3},"by_subject":{"acme-inc":3},"by_agent_name":{"summarizer":2,"translator":1}}`
	var wantUsage map[string]any
	_ = json.Unmarshal([]byte(wantJSON), &wantUsage)
	if !reflect.DeepEqual(usage, wantUsage) {
		t.Errorf("GET /sandbox/usage = %v, want %s", usage, wantJSON)
	}

	var events []json.RawMessage
	if err := json.Unmarshal(get(t, srv.URL+"/sandbox/events").body, &events); err != nil {
		t.Fatal(err)
	}
	if len(events) != len(sent) {
		t.Fatalf("GET /sandbox/events has %d events, want %d", len(events), len(sent))
	}
	for i := range sent {
		if string(events[i]) != sent[i] {
			t.Errorf("GET /sandbox/events [%d] = %s, want it as sent: %s", i, events[i], sent[i])
		}
	}
	if got := sb.Events()[2]; got.ID != "48FC220C-C124-4B73-B378-7DC5CF88DD1A" || got.Time != "2026-01-02T03:04:05Z" ||
		got.DataContentType != "application/json" || string(got.Data) != "{\n\"agent_name\": \"translator\"\n}" {
		t.Errorf("Events()[2] = %+v", got)
	}
}

func TestDeduplication(t *testing.T) {
	tests := map[string]struct {
		batches [][]any
		want    []string
	}{
		"same id and source is counted once": {
			batches: [][]any{{run("a", "platform", "summarizer")}, {run("a", "platform", "summarizer")}},
			want:    []string{"platform/a"},
		},
		"same id from another source is another event": {
			batches: [][]any{{run("a", "platform", "summarizer")}, {run("a", "billing", "summarizer")}},
			want:    []string{"platform/a", "billing/a"},
		},
		"a repeat inside one batch is stored once": {
			batches: [][]any{{run("a", "platform", "summarizer"), run("b", "platform", "translator"), run("a", "platform", "summarizer")}},
			want:    []string{"platform/a", "platform/b"},
		},
		"a resent batch after a partial one stores only the new events": {
			batches: [][]any{{run("a", "p", "x")}, {run("a", "p", "x"), run("b", "p", "x"), run("c", "p", "x")}},
			want:    []string{"p/a", "p/b", "p/c"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sb, srv := start(t)
			for _, batch := range tt.batches {
				if a := post(t, srv.URL+ingest, batchType, batch); a.status != http.StatusAccepted {
					t.Fatalf("status %d %s, want 202 for a duplicate too", a.status, a.body)
				}
			}
			if got := ids(sb.Events()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("stored %v, want %v", got, tt.want)
			}
			if got := sb.Usage().Events; got != len(tt.want) {
				t.Errorf("Usage().Events = %d, want %d", got, len(tt.want))
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	tests := map[string]struct {
		method, path, contentType string
		want                      int
	}{
		"Konnect":                  {http.MethodPost, "/v3/openmeter/events", oneType, http.StatusAccepted},
		"self-hosted v3":           {http.MethodPost, "/api/v3/openmeter/events", oneType, http.StatusAccepted},
		"self-hosted v1":           {http.MethodPost, "/api/v1/events", oneType, http.StatusNoContent},
		"plain JSON object":        {http.MethodPost, ingest, "application/json", http.StatusAccepted},
		"charset parameter":        {http.MethodPost, ingest, "application/cloudevents+json; charset=utf-8", http.StatusAccepted},
		"PUT on ingest":            {http.MethodPut, ingest, oneType, http.StatusMethodNotAllowed},
		"GET on ingest lists":      {http.MethodGet, ingest, "", http.StatusOK},
		"POST on the events view":  {http.MethodPost, "/sandbox/events", oneType, http.StatusMethodNotAllowed},
		"unknown path":             {http.MethodPost, "/v2/events", oneType, http.StatusNotFound},
		"trailing slash":           {http.MethodPost, ingest + "/", oneType, http.StatusNotFound},
		"GET the usage view":       {http.MethodGet, "/sandbox/usage", "", http.StatusOK},
		"GET an empty events view": {http.MethodGet, "/sandbox/events", "", http.StatusOK},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, srv := start(t)
			body, _ := json.Marshal(run("a", "p", "summarizer"))
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, bytes.NewReader(body))
			req.Header.Set("Content-Type", tt.contentType)
			if a := do(t, req); a.status != tt.want {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, a.status, a.body, tt.want)
			}
		})
	}
	_, srv := start(t)
	if a := get(t, srv.URL+"/sandbox/events"); string(a.body) != "[]" {
		t.Errorf("GET /sandbox/events with nothing accepted = %s, want []", a.body)
	}
}

func TestRequestsRecordBatching(t *testing.T) {
	sb, srv := start(t)
	post(t, srv.URL+ingest, batchType, []any{run("a", "p", "x"), run("b", "p", "x"), run("c", "p", "x")})
	post(t, srv.URL+"/api/v1/events", oneType, run("d", "p", "x"))
	post(t, srv.URL+ingest, batchType, []any{run("e", "p", "x"), map[string]any{"id": "f"}})

	got := sb.Requests()
	want := []struct {
		path   string
		events int
		status int
		ct     string
	}{{ingest, 3, 202, batchType}, {"/api/v1/events", 1, 204, oneType}, {ingest, 2, 400, batchType}}
	if len(got) != len(want) {
		t.Fatalf("Requests() has %d, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Path != w.path || g.Events != w.events || g.Status != w.status || g.ContentType != w.ct || g.Fault || g.At.IsZero() {
			t.Errorf("Requests()[%d] = %+v, want %+v", i, g, w)
		}
	}
	if !strings.Contains(got[2].Detail, "[1].source") {
		t.Errorf("Requests()[2].Detail = %q, want it to name [1].source", got[2].Detail)
	}
}

func TestConcurrentUse(t *testing.T) {
	sb, srv := start(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			body, _ := json.Marshal([]any{run(fmt.Sprint(i), "p", "x"), run("shared", "p", "x")})
			resp, err := http.Post(srv.URL+ingest, batchType, bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("status %d, want 202", resp.StatusCode)
			}
		})
		wg.Go(func() {
			sb.SetToken("")
			sb.SetFault(nil)
			_ = sb.Usage()
			_ = sb.Requests()
			if resp, err := http.Get(srv.URL + "/sandbox/events"); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if got := sb.Usage().Events; got != 21 {
		t.Errorf("Usage().Events = %d, want 20 distinct ids and one shared", got)
	}
}

func TestLoseAcceptsAndDrops(t *testing.T) {
	sb, srv := start(t)
	sb.Lose("b")
	if a := post(t, srv.URL+ingest, batchType, []any{run("a", "p", "x"), run("b", "p", "x"), run("c", "p", "x")}); a.status != http.StatusAccepted {
		t.Fatalf("status %d %s, want 202 with an event lost", a.status, a.body)
	}
	if got := ids(sb.Events()); !equal(got, []string{"p/a", "p/c"}) || sb.Usage().Events != 2 {
		t.Errorf("stored %v, usage %d events; want p/a and p/c, 2", got, sb.Usage().Events)
	}
	sb.Lose()
	if a := post(t, srv.URL+ingest, batchType, []any{run("b", "p", "x")}); a.status != http.StatusAccepted {
		t.Fatalf("resend: status %d %s", a.status, a.body)
	}
	if got := ids(sb.Events()); !equal(got, []string{"p/a", "p/c", "p/b"}) {
		t.Errorf("stored %v after the resend, want p/b stored too", got)
	}
}
