package admin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/admin"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

var info = admin.Info{Version: "v1.2.3", NATS: "nats://nats:4222", Stream: "AGENT_RUNS", Consumer: "konnect-bridge", Target: "https://us.api.konghq.com/v3/openmeter/events", Access: admin.Access{Open: true}}

// serve runs the admin server as an operator or a probe reaches it.
func serve(t *testing.T, h *health.Health, m *metrics.Metrics, sb admin.Sandbox) string {
	t.Helper()
	srv := httptest.NewServer(admin.Handler(h, m, sb, info))
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

// allReady is a bridge connected to NATS, consuming, and delivering.
func allReady() *health.Health {
	h := health.New(nil)
	h.Set(health.NATS, true, "")
	h.Set(health.Consumer, true, "")
	return h
}

func TestLiveness(t *testing.T) {
	// Liveness does not depend on readiness: a bridge waiting for NATS is
	// alive and must not be restarted for it.
	url := serve(t, health.New(nil), metrics.New(), nil)
	status, _, body := get(t, url+"/healthz")
	if status != http.StatusOK || !strings.Contains(body, "alive") {
		t.Errorf("/healthz = %d %s, want 200 alive", status, body)
	}
}

func TestReadiness(t *testing.T) {
	tests := map[string]struct {
		health   func() *health.Health
		status   int
		notReady map[health.Component]string // component: words of its reason
	}{
		"starting": {
			health: func() *health.Health { return health.New(nil) },
			status: http.StatusServiceUnavailable,
			notReady: map[health.Component]string{
				health.NATS: "starting", health.Consumer: "starting",
			},
		},
		"Konnect refuses the token": {
			health: func() *health.Health {
				h := allReady()
				h.Set(health.KonnectAuth, false, "Konnect answered 401: invalid credentials; KONNECT_TOKEN is missing, wrong or expired")
				return h
			},
			status:   http.StatusServiceUnavailable,
			notReady: map[health.Component]string{health.KonnectAuth: "KONNECT_TOKEN is missing, wrong or expired"},
		},
		"dead letters cannot be stored": {
			health: func() *health.Health {
				h := allReady()
				h.Set(health.DeadLetters, false, "dead letters cannot be stored: stream AGENT_RUNS_DLQ: maximum bytes exceeded")
				return h
			},
			status:   http.StatusServiceUnavailable,
			notReady: map[health.Component]string{health.DeadLetters: "maximum bytes exceeded"},
		},
		"NATS lost": {
			health: func() *health.Health {
				h := allReady()
				h.Set(health.NATS, false, "disconnected from nats://nats:4222")
				return h
			},
			status:   http.StatusServiceUnavailable,
			notReady: map[health.Component]string{health.NATS: "disconnected"},
		},
		"all ready": {health: allReady, status: http.StatusOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			url := serve(t, tc.health(), metrics.New(), nil)
			status, header, body := get(t, url+"/readyz")
			if status != tc.status {
				t.Errorf("/readyz = %d, want %d: %s", status, tc.status, body)
			}
			if ct := header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var r health.Report
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("/readyz body is not a readiness report: %v\n%s", err, body)
			}
			if r.Ready != (tc.status == http.StatusOK) {
				t.Errorf("ready %v with status %d", r.Ready, status)
			}
			if len(r.Components) != 5 {
				t.Errorf("%d components reported, want nats, consumer, konnect_auth, konnect_reachable and dead_letters", len(r.Components))
			}
			for _, c := range r.Components {
				reason, wantNotReady := tc.notReady[c.Component]
				if c.Ready == wantNotReady {
					t.Errorf("%s ready %v, want %v", c.Component, c.Ready, !wantNotReady)
				}
				if wantNotReady && !strings.Contains(c.Reason, reason) {
					t.Errorf("%s reason %q, want it to say %q", c.Component, c.Reason, reason)
				}
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	m := metrics.New()
	m.EventsDelivered.Add(3)
	url := serve(t, allReady(), m, nil)
	status, _, body := get(t, url+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics = %d", status)
	}
	for _, want := range []string{"konnect_bridge_build_info{", "konnect_bridge_events_delivered_total 3", `konnect_bridge_events_dead_lettered_total{reason="rejected"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
}

func TestStatusPage(t *testing.T) {
	h := allReady()
	h.Set(health.KonnectAuth, false, "KONNECT_TOKEN lacks the Ingest role <for> Metering & Billing")
	m := metrics.New()
	m.EventsReceived.Add(5)
	m.EventsDelivered.Add(3)

	t.Run("without a sandbox", func(t *testing.T) {
		url := serve(t, h, m, nil)
		status, header, body := get(t, url+"/")
		if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/html") {
			t.Fatalf("/ = %d %s, want an HTML page", status, header.Get("Content-Type"))
		}
		for _, want := range []string{
			"not ready", "nats", "consumer", "konnect_auth", "konnect_reachable",
			// The reason is shown, escaped like any text on a page.
			"KONNECT_TOKEN lacks the Ingest role &lt;for&gt; Metering &amp; Billing",
			`id="received">5<`, `id="delivered">3<`,
			"v1.2.3", "AGENT_RUNS", "https://us.api.konghq.com/v3/openmeter/events",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the status page does not show %q", want)
			}
		}
		if strings.Contains(body, "<for>") {
			t.Error("the status page shows a reason unescaped")
		}
		if strings.Contains(body, "Sandbox usage") {
			t.Error("the status page shows sandbox usage without a sandbox")
		}
		if status, _, _ := get(t, url+"/sandbox/usage"); status != http.StatusNotFound {
			t.Errorf("/sandbox/usage = %d without a sandbox, want 404", status)
		}
	})

	t.Run("with the sandbox", func(t *testing.T) {
		url := serve(t, h, m, sandbox.New())
		// Deliver the guide's three runs to the sandbox the admin server serves.
		var batch [][]byte
		for _, r := range testkit.Guide() {
			batch = append(batch, r.JSON())
		}
		resp, err := http.Post(url+"/v3/openmeter/events", "application/cloudevents-batch+json",
			bytes.NewReader(append(append([]byte("["), bytes.Join(batch, []byte(","))...), ']')))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("the sandbox answered %d to the guide's runs", resp.StatusCode)
		}
		_, _, body := get(t, url+"/")
		for _, want := range []string{
			"Sandbox usage",
			"<td>agent_run</td><td>3</td>",
			"<td>acme-inc</td><td>3</td>",
			"<td>summarizer</td><td>2</td>",
			"<td>translator</td><td>1</td>",
			"konnect_auth",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the status page does not show %q", want)
			}
		}
		status, _, usage := get(t, url+"/sandbox/usage")
		if status != http.StatusOK || !strings.Contains(usage, `"events":3`) {
			t.Errorf("/sandbox/usage = %d %s, want the three runs", status, usage)
		}
	})
}

// TestStatusPageHidesCredentialsInURLs: NATS_URL may carry a user and
// password, KONNECT_URL a key in its query. The status page, which anyone
// reaching the admin port can read, shows where the bridge is connected
// without them.
func TestStatusPageHidesCredentialsInURLs(t *testing.T) {
	withSecrets := admin.Info{
		Version: "v1.2.3", Stream: "AGENT_RUNS", Consumer: "konnect-bridge",
		NATS:   "nats://admin:S3cretPW@nats-1:4222,nats://admin:S3cretPW@nats-2:4222",
		Target: "https://openmeter.internal/api/v1/events?apikey=S3cretKey",
		Access: admin.Access{Open: true},
	}
	srv := httptest.NewServer(admin.Handler(allReady(), metrics.New(), nil, withSecrets))
	t.Cleanup(srv.Close)
	_, _, body := get(t, srv.URL+"/")
	for _, want := range []string{"nats://redacted@nats-1:4222,nats://redacted@nats-2:4222", "https://openmeter.internal/api/v1/events"} {
		if !strings.Contains(body, want) {
			t.Errorf("the status page does not show %q", want)
		}
	}
	for _, secret := range []string{"S3cretPW", "S3cretKey", "admin:"} {
		if strings.Contains(body, secret) {
			t.Errorf("the status page shows %q", secret)
		}
	}
}

// What holds delivery, and how safe the stream is, at a glance: a Konnect
// asking to wait (one "paused until" line however often it asked), the last
// answer that was not Konnect's as its log line names it, and the bound
// stream's replicas, storage and the warning for R1 file storage. Without
// them, none of those lines shows.
func TestStatusPageShowsPauseUnexpectedAnswerAndDurability(t *testing.T) {
	until := time.Now().Add(2 * time.Minute).UTC().Truncate(time.Second)
	const answer = `127.0.0.1:8443 answered 200 OK (Content-Type "text/html"), which is not an answer of the Konnect ingest API (it answers 202): check KONNECT_URL`

	t.Run("paused, an unexpected answer, an R1 stream", func(t *testing.T) {
		h, m := allReady(), metrics.New()
		for range 5 { // Konnect renews its pause again and again
			m.PausedUntil.Set(float64(until.Unix()))
		}
		h.Unexpected(answer)
		h.SetDurability(health.Durability{Stream: "AGENT_RUNS", Replicas: 1, Storage: "file", Says: "stream AGENT_RUNS has 1 replica(s) on file storage: a server crash may lose events it acknowledged unless the server runs with sync_interval: always"})
		_, _, body := get(t, serve(t, h, m, nil)+"/")
		if n := strings.Count(body, "paused by Konnect until"); n != 1 {
			t.Errorf("the status page says %d times that Konnect paused delivery, want once", n)
		}
		for _, want := range []string{
			"paused by Konnect until " + until.Format(time.RFC3339),
			`id="last-unexpected"`, "127.0.0.1:8443 answered 200 OK (Content-Type &#34;text/html&#34;)",
			`id="durability"><span class="bad">1 replica(s), file storage</span>`, "sync_interval: always",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the status page does not show %q", want)
			}
		}
	})

	t.Run("a pause that ended, an R3 stream", func(t *testing.T) {
		h, m := allReady(), metrics.New()
		m.PausedUntil.Set(float64(time.Now().Add(-time.Minute).Unix()))
		h.SetDurability(health.Durability{Stream: "AGENT_RUNS", Replicas: 3, Storage: "file", OK: true, Says: "stream AGENT_RUNS keeps events on file storage with 3 replicas"})
		_, _, body := get(t, serve(t, h, m, nil)+"/")
		for _, unwanted := range []string{"paused by Konnect", `id="last-unexpected"`} {
			if strings.Contains(body, unwanted) {
				t.Errorf("the status page shows %q with nothing to say", unwanted)
			}
		}
		if want := `<span class="ok">3 replica(s), file storage</span>`; !strings.Contains(body, want) {
			t.Errorf("the status page does not show %q", want)
		}
	})
}

// The page answers "what do I do now": dead letters by kind with the
// command that lists them and the newest reasons (escaped: a producer
// controls what they quote), the dead-letter part marked "attention"
// while readiness stays as it is, and an error that cleared shown as
// cleared, not as the last error.
func TestStatusPageSaysWhatToDo(t *testing.T) {
	t.Run("dead letters waiting", func(t *testing.T) {
		h, m := allReady(), metrics.New()
		m.EventsReceived.Add(9)
		m.EventsDeadLettered.WithLabelValues("invalid").Add(6)
		m.EventsDeadLettered.WithLabelValues("fenced").Inc()
		for i := range 6 {
			h.DeadLettered("invalid", fmt.Sprintf("run-%d: subject must not be empty", i))
		}
		h.DeadLettered("fenced", "customer <b>globex</b> is not allowed on agent.runs.acme \x1b[2J")
		url := serve(t, h, m, nil)
		if status, _, body := get(t, url+"/readyz"); status != http.StatusOK {
			t.Errorf("/readyz = %d with dead letters stored, want 200: a dead letter holds no delivery\n%s", status, body)
		}
		_, _, body := get(t, url+"/")
		for _, want := range []string{
			`<span id="state" class="ok">ready</span>`,
			`<tr id="part-dead_letters"><td>dead_letters</td><td><span class="state warn">attention</span>`,
			"7 dead letter(s) stored since start",
			`events received since start</td><td id="received">9<`,
			`dead letters stored since start</td><td id="dead-lettered">7<`,
			`<tr id="dead-kind-invalid"><td>invalid</td><td>6</td><td><code>bridge dlq list --kind invalid</code>`,
			`<tr id="dead-kind-fenced"><td>fenced</td><td>1</td><td><code>bridge dlq list --kind fenced</code>`,
			`customer &lt;b&gt;globex&lt;/b&gt; is not allowed on agent.runs.acme \x1b[2J`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the status page does not show %q", want)
			}
		}
		if strings.Contains(body, "--kind rejected") {
			t.Error("the status page lists a kind with no dead letters")
		}
		if strings.Contains(body, "<b>globex") || strings.Contains(body, "\x1b") {
			t.Error("the status page shows a dead letter's reason unescaped")
		}
		// The newest five, newest first: run-0 and run-1 are gone.
		newest := body[strings.Index(body, `id="dead-letter-newest"`):]
		if n := strings.Count(newest, `<td class="reason">`); n != 5 {
			t.Errorf("the status page lists %d newest dead letters, want 5", n)
		}
		if fenced, run2 := strings.Index(newest, "globex"), strings.Index(newest, "run-2:"); fenced < 0 || run2 < 0 || fenced > run2 {
			t.Error("the newest dead letters are not listed newest first")
		}
		if strings.Contains(newest, "run-1:") {
			t.Error("the status page lists more than the newest five dead letters")
		}
	})

	t.Run("none", func(t *testing.T) {
		_, _, body := get(t, serve(t, allReady(), metrics.New(), nil)+"/")
		if !strings.Contains(body, `<tr id="part-dead_letters"><td>dead_letters</td><td><span class="state ok">ready</span>`) {
			t.Error("the dead-letter part is not ready without dead letters")
		}
		for _, unwanted := range []string{"attention", `id="dead-letters"`, "bridge dlq list"} {
			if strings.Contains(body, unwanted) {
				t.Errorf("the status page shows %q without dead letters", unwanted)
			}
		}
		if !strings.Contains(body, `<td id="last-error">none</td>`) {
			t.Error("the status page shows a last error where there was none")
		}
	})

	t.Run("an error that cleared, one that holds", func(t *testing.T) {
		h := allReady()
		h.Set(health.KonnectAuth, false, "Konnect at konnect.invalid answered 401 Unauthorized: KONNECT_TOKEN is missing, wrong or expired")
		url := serve(t, h, metrics.New(), nil)
		_, _, body := get(t, url+"/")
		if !strings.Contains(body, `<td>last error</td><td id="last-error" class="bad">`) || !strings.Contains(body, "konnect_auth: Konnect at konnect.invalid answered 401") {
			t.Error("the status page does not show the error that holds as the last error")
		}
		h.Set(health.KonnectAuth, true, "")
		cleared := h.Report().LastErrorCleared
		if cleared.IsZero() {
			t.Fatal("the error of konnect_auth did not clear once it was ready again")
		}
		_, _, body = get(t, url+"/")
		want := `<td>error cleared</td><td id="last-error"><span class="ok">cleared ` + cleared.UTC().Format("15:04:05") + `</span>`
		if !strings.Contains(body, want) || !strings.Contains(body, "KONNECT_TOKEN is missing") {
			t.Errorf("the status page does not show the token error as cleared (%q)", want)
		}
		if strings.Contains(body, `<td>last error</td>`) {
			t.Error("the status page still shows a cleared error as the last error")
		}
		if status, _, readyz := get(t, url+"/readyz"); status != http.StatusOK || !strings.Contains(readyz, `"last_error_cleared_at"`) {
			t.Errorf("/readyz = %d and does not say when the last error cleared:\n%s", status, readyz)
		}
	})
}

// A replica standing by is ready: /readyz answers 200 and says why it
// stands by, and the status page shows "standby" with the reason.
func TestStandbyReplicaIsReadyAndSaysSo(t *testing.T) {
	h := allReady()
	const why = "another replica is pinned in priority group konnect-bridge; this one takes over once it stops pulling for BRIDGE_PINNED_TTL 15s"
	h.SetStandby(why)
	url := serve(t, h, metrics.New(), nil)
	code, _, body := get(t, url+"/readyz")
	var r health.Report
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != http.StatusOK || r.Standby != why {
		t.Errorf("/readyz = %d with standby %q (%v), want 200 saying why the replica stands by", code, r.Standby, err)
	}
	if _, _, page := get(t, url+"/"); !strings.Contains(page, `id="standby"><span class="state">standby</span>: `+why) {
		t.Errorf("the status page does not say the replica stands by, and why")
	}
	h.SetStandby("")
	if _, _, page := get(t, url+"/"); strings.Contains(page, `id="standby"`) {
		t.Errorf("the status page says standby for a replica that pulls")
	}
}
