package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

func TestFaultAnswersWhatTheTestSays(t *testing.T) {
	poison := func(w http.ResponseWriter, r *http.Request) bool {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte("poison")) {
			return false
		}
		http.Error(w, "boom", http.StatusInternalServerError)
		return true
	}
	tests := map[string]struct {
		fault       sandbox.Fault
		ids         []string
		want        []int // status of each POST, one event each
		retryAfter  string
		stored      []string
		faultStatus int // the status Requests() records for the first POST
	}{
		"unavailable with Retry-After": {
			fault: sandbox.Answer(http.StatusServiceUnavailable, 1500*time.Millisecond),
			ids:   []string{"a", "b"}, want: []int{503, 503}, retryAfter: "2", stored: []string{}, faultStatus: 503,
		},
		"rate limited once, then accepted": {
			fault: sandbox.Times(1, sandbox.Answer(http.StatusTooManyRequests, 0)),
			ids:   []string{"a", "a"}, want: []int{429, 202}, stored: []string{"p/a"}, faultStatus: 429,
		},
		"a Fault that reads the body picks its victims": {
			fault: poison,
			ids:   []string{"poison", "fine"}, want: []int{500, 202}, stored: []string{"p/fine"}, faultStatus: 500,
		},
		"a Fault declining lets the sandbox answer": {
			fault: func(http.ResponseWriter, *http.Request) bool { return false },
			ids:   []string{"a"}, want: []int{202}, stored: []string{"p/a"}, faultStatus: 202,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sb, srv := start(t, sandbox.WithToken("spat_ok"))
			sb.SetFault(tt.fault)
			for i, id := range tt.ids {
				a := post(t, srv.URL+ingest, oneType, run(id, "p", "x"), "Authorization: Bearer spat_ok")
				if a.status != tt.want[i] {
					t.Errorf("POST %d: status %d %s, want %d", i, a.status, a.body, tt.want[i])
				}
				if tt.retryAfter != "" && a.header.Get("Retry-After") != tt.retryAfter {
					t.Errorf("POST %d: Retry-After %q, want %q", i, a.header.Get("Retry-After"), tt.retryAfter)
				}
			}
			if got := ids(sb.Events()); !equal(got, tt.stored) {
				t.Errorf("stored %v, want %v", got, tt.stored)
			}
			if got := sb.Requests()[0]; got.Status != tt.faultStatus || got.Events != 1 {
				t.Errorf("Requests()[0] = %+v, want status %d and 1 event", got, tt.faultStatus)
			}
		})
	}
}

func TestFaultComesBeforeAuthAndCanBeRemoved(t *testing.T) {
	sb, srv := start(t, sandbox.WithToken("spat_ok"), sandbox.WithFault(sandbox.Answer(http.StatusBadGateway, 0)))
	if a := post(t, srv.URL+ingest, oneType, run("a", "p", "x")); a.status != http.StatusBadGateway {
		t.Errorf("status %d without a token under a Fault, want the Fault's 502", a.status)
	}
	sb.SetFault(nil)
	if a := post(t, srv.URL+ingest, oneType, run("a", "p", "x")); a.status != http.StatusUnauthorized {
		t.Errorf("status %d without a token, want 401 once the Fault is gone", a.status)
	}
	if got := sb.Requests(); !got[0].Fault || got[1].Fault {
		t.Errorf("Requests() Fault flags = %v, %v; want true, false", got[0].Fault, got[1].Fault)
	}
}

func TestDropClosesTheConnection(t *testing.T) {
	sb, srv := start(t, sandbox.WithFault(sandbox.Drop()))
	body, _ := json.Marshal(run("a", "p", "x"))
	resp, err := http.Post(srv.URL+ingest, oneType, bytes.NewReader(body))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("status %d, want the connection dropped", resp.StatusCode)
	}
	got := sb.Requests()
	if len(got) != 1 || got[0].Status != 0 || !got[0].Fault || len(sb.Events()) != 0 {
		t.Errorf("Requests() = %+v, Events() = %v; want one dropped request, nothing stored", got, sb.Events())
	}
}

// A slow Konnect may store what the client gave up on: a resend is then a
// duplicate, answered 202 and not counted again.
func TestDelayOutlastsTheClient(t *testing.T) {
	sb, srv := start(t, sandbox.WithFault(sandbox.Delay(time.Minute)))
	client := &http.Client{Timeout: 50 * time.Millisecond}
	body, _ := json.Marshal(run("a", "p", "x"))
	if resp, err := client.Post(srv.URL+ingest, oneType, bytes.NewReader(body)); err == nil {
		resp.Body.Close()
		t.Fatalf("status %d, want the client to time out", resp.StatusCode)
	}
	waitFor(t, "the abandoned request to be stored", func() bool { return len(sb.Events()) == 1 })

	sb.SetFault(nil)
	if a := post(t, srv.URL+ingest, oneType, run("a", "p", "x")); a.status != http.StatusAccepted {
		t.Errorf("resend: status %d, want 202", a.status)
	}
	if got := sb.Usage().Events; got != 1 {
		t.Errorf("Usage().Events = %d after a resend, want 1", got)
	}
}
