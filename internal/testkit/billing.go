package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// Billing is a Konnect stand-in that bills: the sandbox (ingest, events,
// meters, customers, meter queries) with, in front of it, the reads it
// does not serve: subscriptions, features, the guide's plan (its meter
// agent_runs as the feature agent_runs, at 0.10 USD a run) and customers'
// charges. Every request and answer is checked against the published
// spec. Safe for concurrent use.
type Billing struct {
	*sandbox.Sandbox
	URL   string // the ingest URL
	token string

	mu     sync.Mutex
	subs   map[string]time.Time // customer key: active_from
	charge int                  // the status charges are answered with; 0 is 200
	lose   string               // an event id ingest accepts and drops
}

// Ids of the stand-in's own objects.
const (
	billingPlanID    = "01JF0000000000000000000101"
	billingFeatureID = "01JF0000000000000000000102"
	billingCreated   = `"created_at":"2026-11-01T00:00:00Z","updated_at":"2026-11-01T00:00:00Z"`
)

// NewBilling serves a sandbox with the guide's meter and customer, token
// and opts, and the billing reads; it stops when the test ends.
func NewBilling(t testing.TB, token string, opts ...sandbox.Option) *Billing {
	t.Helper()
	b := &Billing{Sandbox: sandbox.New(append([]sandbox.Option{sandbox.WithToken(token), sandbox.WithGuide()}, opts...)...), token: token, subs: map[string]time.Time{}}
	b.URL = SpecChecked(t, b).URL + "/v3/openmeter/events"
	return b
}

// Subscribe subscribes the customer to the guide's plan from activeFrom,
// billed monthly from then.
func (b *Billing) Subscribe(customerKey string, activeFrom time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[customerKey] = activeFrom.UTC()
}

// AnswerCharges answers the charges with status (403: the token may not
// read them, 404: a deployment without them); 0 serves them again.
func (b *Billing) AnswerCharges(status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.charge = status
}

// Lose makes ingest accept the event with id and drop it, so that the
// meter never counts it.
func (b *Billing) Lose(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lose = id
}

func (b *Billing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v3")
	switch {
	case r.Method == http.MethodPost && path == "/openmeter/events":
		b.ingest(w, r)
	case r.Method != http.MethodGet:
		b.Sandbox.ServeHTTP(w, r)
	case path == "/openmeter/subscriptions":
		b.answer(w, b.subscriptions(r.URL.Query().Get("filter[customer_id][eq]")))
	case path == "/openmeter/features":
		b.answer(w, []string{`{"id":"` + billingFeatureID + `","name":"agent-runs","key":"agent_runs",` + billingCreated + `,"meter":{"id":"` + b.meterID() + `"}}`})
	case path == "/openmeter/plans":
		b.answer(w, []string{`{"id":"` + billingPlanID + `","name":"Agent runs","key":"agent_runs",` + billingCreated + `,"version":1,"currency":"USD","billing_cadence":"P1M","status":"active",
"phases":[{"name":"Default","key":"default","rate_cards":[{"name":"agent-runs","key":"agent_runs","feature":{"id":"` + billingFeatureID + `"},"price":{"type":"unit","amount":"0.10"}}]}]}`})
	case strings.HasPrefix(path, "/openmeter/customers/") && strings.HasSuffix(path, "/charges"):
		b.charges(w, strings.TrimSuffix(strings.TrimPrefix(path, "/openmeter/customers/"), "/charges"))
	default:
		b.Sandbox.ServeHTTP(w, r)
	}
}

// ingest passes the events on to the sandbox, without the one to lose.
func (b *Billing) ingest(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	lose := b.lose
	b.mu.Unlock()
	var events []map[string]any
	body, _ := io.ReadAll(r.Body)
	if lose != "" && json.Unmarshal(body, &events) == nil {
		kept := events[:0]
		for _, e := range events {
			if e["id"] != lose {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		body, _ = json.Marshal(kept)
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	b.Sandbox.ServeHTTP(w, r)
}

// subscriptions are the customer's, as the spec's BillingSubscriptions.
func (b *Billing) subscriptions(customerID string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for key, from := range b.subs {
		if b.customerID(key) != customerID {
			continue
		}
		at := from.Format(time.RFC3339Nano)
		out = append(out, `{"id":"01JF00000000000000000001`+fmt.Sprintf("%02d", len(out))+`",`+billingCreated+`,"name":"Agent runs","active_from":"`+at+`",
"customer_id":"`+customerID+`","plan":{"id":"`+billingPlanID+`","key":"agent_runs","version":1},"invoice_currency":"USD","cost_basis_mode":"dynamic",
"cost_basis_pins":[],"billing_cadence":"P1M","billing_anchor":"`+at+`","status":"active","phases":[]}`)
	}
	return out
}

// charges answers the customer's charges: one usage-based charge of the
// feature agent_runs for the current month of each subscription, its
// realtime total at 0.10 a run.
func (b *Billing) charges(w http.ResponseWriter, customerID string) {
	b.mu.Lock()
	status := b.charge
	var from time.Time
	for key, at := range b.subs {
		if b.customerID(key) == customerID {
			from = at
		}
	}
	b.mu.Unlock()
	if status != 0 {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"type":"https://httpstatuses.com/%d","title":%q,"status":%d,"detail":"charges","instance":"kong:trace:1"}`, status, http.StatusText(status), status)
		return
	}
	var out []string
	if !from.IsZero() {
		to := from.AddDate(0, 1, 0)
		for !time.Now().Before(to) {
			from, to = to, to.AddDate(0, 1, 0)
		}
		period := `{"from":"` + from.Format(time.RFC3339Nano) + `","to":"` + to.Format(time.RFC3339Nano) + `"}`
		runs := b.runs(customerID, from, to)
		totals := func(amount string) string {
			return `{"amount":"` + amount + `","taxes_total":"0","taxes_inclusive_total":"0","taxes_exclusive_total":"0","charges_total":"0","discounts_total":"0","credits_total":"0","total":"` + amount + `"}`
		}
		out = append(out, `{"id":"01JF0000000000000000000201","name":"agent-runs",`+billingCreated+`,"type":"usage_based","customer":{"id":"`+customerID+`"},
"lifecycle_controller":"system","currency":"USD","status":"active","invoice_at":"`+to.Format(time.RFC3339Nano)+`","service_period":`+period+`,
"full_service_period":`+period+`,"billing_period":`+period+`,"settlement_mode":"credit_then_invoice","feature_key":"agent_runs","feature_id":"`+billingFeatureID+`",
"totals":{"booked":`+totals("0")+`,"realtime":`+totals(strconv.FormatFloat(runs*0.10, 'f', 2, 64))+`},"price":{"type":"unit","amount":"0.10"}}`)
	}
	b.answer(w, out)
}

// answer writes items as one page of a page-paginated list.
func (b *Billing) answer(w http.ResponseWriter, items []string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"data":[%s],"meta":{"page":{"number":1,"size":100,"total":%d}}}`, strings.Join(items, ","), len(items))
}

// read asks the sandbox's own read API.
func (b *Billing) read(method, path, body string, out any) {
	r := httptest.NewRequest(method, "/v3"+path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+b.token)
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	b.Sandbox.ServeHTTP(rec, r)
	_ = json.Unmarshal(rec.Body.Bytes(), out)
}

func (b *Billing) meterID() string {
	var page struct{ Data []struct{ ID, Key string } }
	b.read(http.MethodGet, "/openmeter/meters", "", &page)
	for _, m := range page.Data {
		if m.Key == sandbox.GuideMeter.Key {
			return m.ID
		}
	}
	return ""
}

func (b *Billing) customerID(key string) string {
	var page struct{ Data []struct{ ID string } }
	b.read(http.MethodGet, "/openmeter/customers?filter[key]="+key, "", &page)
	if len(page.Data) == 0 {
		return ""
	}
	return page.Data[0].ID
}

// runs is what the meter counts for the customer in [from, to).
func (b *Billing) runs(customerID string, from, to time.Time) float64 {
	var res struct{ Data []struct{ Value string } }
	b.read(http.MethodPost, "/openmeter/meters/"+b.meterID()+"/query", fmt.Sprintf(`{"from":%q,"to":%q,"filters":{"dimensions":{"customer_id":{"eq":%q}}}}`,
		from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), customerID), &res)
	total := 0.0
	for _, row := range res.Data {
		v, _ := strconv.ParseFloat(row.Value, 64)
		total += v
	}
	return total
}
