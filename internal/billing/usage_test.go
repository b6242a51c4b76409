package billing_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// TestUsageCountsTheServicePeriod: for a customer with a subscription,
// usage counts from the start of its service period, not of the month.
func TestUsageCountsTheServicePeriod(t *testing.T) {
	const (
		ts       = `"created_at":"2026-11-01T00:00:00Z","updated_at":"2026-11-01T00:00:00Z"`
		meters   = `{"data":[{"id":"01JF0000000000000000000003","name":"Agent runs","key":"agent_runs","aggregation":"count","event_type":"agent_run",` + ts + `}],"meta":{"page":{"number":1,"size":100,"total":1}}}`
		customer = `{"data":[{"id":"01JF0000000000000000000002","name":"ACME Inc.","key":"acme-inc",` + ts + `}],"meta":{"page":{"number":1,"size":100,"total":1}}}`
		subs     = `{"data":[{"id":"01JF0000000000000000000001",` + ts + `,"name":"Agent runs","active_from":"2026-11-20T08:00:00Z","customer_id":"01JF0000000000000000000002","invoice_currency":"USD","cost_basis_mode":"dynamic","cost_basis_pins":[],"billing_cadence":"P1M","billing_anchor":"2026-11-20T08:00:00Z","status":"active","phases":[]}],"meta":{"page":{"number":1,"size":100,"total":1}}}`
	)
	var queried struct {
		From time.Time `json:"from"`
	}
	mux := http.NewServeMux()
	answer := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		}
	}
	mux.Handle("GET /v3/openmeter/meters", answer(meters))
	mux.Handle("GET /v3/openmeter/customers", answer(customer))
	mux.Handle("GET /v3/openmeter/subscriptions", answer(subs))
	mux.HandleFunc("POST /v3/openmeter/meters/{id}/query", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&queried)
		answer(`{"data":[{"value":"3","from":"2026-11-20T08:00:00Z","to":"2026-12-03T19:00:00Z","dimensions":{}}]}`)(w, r)
	})
	srv := testkit.SpecChecked(t, mux)
	c := billing.NewClient(srv.URL+"/v3/openmeter/events", "", 5*time.Second, time.Second)
	to := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC)
	u, err := c.Usage(context.Background(), billing.UsageQuery{EventType: "agent_run", Customer: "acme-inc", To: to})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	if !u.From.Equal(want) || !queried.From.Equal(want) || u.Total != 3 {
		t.Errorf("usage from %s (queried from %s), total %v; want from %s, total 3 (%s)", u.From, queried.From, u.Total, want, u.Period)
	}
}
