package billing_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	dto "github.com/prometheus/client_model/go"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// TestRunningBridgeWarnsAndReconciles: the bridge delivers the guide's runs,
// two runs without an id (their ids derived by delivery) and one run for a
// subject no customer has. Its billing check finds that subject; a
// reconciliation finds every event stored, computing the same ids.
func TestRunningBridgeWarnsAndReconciles(t *testing.T) {
	s := newStage(t, sandbox.WithGuide())
	now := time.Now()
	for _, r := range testkit.Guide() {
		s.publish(t, event(r.ID, r.Subject, map[string]any{"agent_name": r.Agent}, now))
	}
	noID := event("", "acme-inc", map[string]any{"agent_name": "translator"}, now)
	delete(noID, "id")
	s.publish(t, noID)
	withHeader := nats.NewMsg("agent.runs.acme")
	withHeader.Header.Set(nats.MsgIdHdr, "producer-msg-1")
	withHeader.Data, _ = json.Marshal(noID)
	s.publishMsg(t, withHeader)
	s.publish(t, event("nobodys-run", "nobody", map[string]any{"agent_name": "summarizer"}, now))

	cfg := testkit.Config(s.natsURL, s.ingestURL)
	cfg.Konnect.Token = ""
	cfg.Billing.CheckInterval = time.Minute
	b := testkit.StartBridge(t, cfg)
	testkit.Eventually(t, 20*time.Second, func() bool { return len(s.sb.Events()) == 6 }, "the bridge delivered %d of 6 events", len(s.sb.Events()))

	var report billing.Report
	testkit.Eventually(t, 20*time.Second, func() bool {
		code, body := get(t, "http://"+b.AdminAddr+"/billing")
		return code == http.StatusOK && json.Unmarshal(body, &report) == nil
	}, "no billing report on /billing")
	if len(report.Findings) != 1 || report.Findings[0].Subject != "nobody" || report.Findings[0].Events != 1 {
		t.Errorf("billing findings %+v, want the subject nobody with 1 event", report.Findings)
	}
	if v := gauge(t, b.Metrics, "konnect_bridge_billing_unattributed_subjects"); v != 1 {
		t.Errorf("unattributed subjects gauge = %v, want 1", v)
	}
	if _, page := get(t, "http://"+b.AdminAddr+"/"); !strings.Contains(string(page), "create a customer with subject key `nobody`") {
		t.Errorf("the status page does not say how to bill nobody:\n%s", page)
	}

	rc := billing.Reconciler{Client: s.client, Stream: s.stream, AckFloor: 6}
	r, err := rc.Run(context.Background(), lastHour(), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 6 || r.Stored.Count != 5 || r.Unattributed.Count != 1 || r.Missing.Count != 0 || r.Invalid.Count != 0 {
		t.Errorf("reconcile: %d events, %d stored, %d without customer, %d missing, %d invalid; want 6, 5, 1, 0, 0",
			r.Events, r.Stored.Count, r.Unattributed.Count, r.Missing.Count, r.Invalid.Count)
	}
}

// TestIngestOnlyTokenCannotCheckButDelivers: a token that may ingest but
// not read yields "cannot check", never a failure of delivery.
func TestIngestOnlyTokenCannotCheckButDelivers(t *testing.T) {
	s := newStage(t, sandbox.WithGuide())
	s.sb.SetReadRights(false)
	s.publish(t, event("a", "nobody", map[string]any{"agent_name": "summarizer"}, time.Now()))
	cfg := testkit.Config(s.natsURL, s.ingestURL)
	cfg.Konnect.Token = ""
	cfg.Billing.CheckInterval = time.Minute
	b := testkit.StartBridge(t, cfg)
	testkit.Eventually(t, 20*time.Second, func() bool { return len(s.sb.Events()) == 1 }, "the event was not delivered")
	testkit.Eventually(t, 20*time.Second, func() bool {
		return gauge(t, b.Metrics, `konnect_bridge_billing_check{state="cannot_check"}`) == 1
	}, "the billing check does not say it cannot check")
	if _, body := get(t, "http://"+b.AdminAddr+"/readyz"); !strings.Contains(string(body), `"ready": true`) {
		t.Errorf("not ready with an ingest-only token: %s", body)
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// gauge reads one gauge, name{label="value"} for a labelled one.
func gauge(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	name, label, _ := strings.Cut(name, "{")
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			if label == "" || hasLabel(mt, strings.TrimSuffix(label, "}")) {
				return mt.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func hasLabel(m *dto.Metric, kv string) bool {
	k, v, _ := strings.Cut(kv, "=")
	for _, l := range m.GetLabel() {
		if l.GetName() == k && `"`+l.GetValue()+`"` == v {
			return true
		}
	}
	return false
}
