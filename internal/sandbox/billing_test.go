package sandbox_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// runAt is one of the guide's runs for subject, timed at.
func runAt(id, subject, agent string, at time.Time) string {
	e := strings.Replace(guideEvent(id, agent), "2026-01-02T03:04:05Z", at.UTC().Format(time.RFC3339), 1)
	return strings.Replace(e, `"acme-inc"`, `"`+subject+`"`, 1)
}

type page[T any] struct {
	Data []T
	Meta struct {
		Page struct{ Number, Size, Total int }
	}
}

type period struct{ From, To time.Time }

type subscriptionRead struct {
	ID, Name, Status string
	BillingCadence   string    `json:"billing_cadence"`
	CustomerID       string    `json:"customer_id"`
	ActiveFrom       time.Time `json:"active_from"`
	BillingAnchor    time.Time `json:"billing_anchor"`
	CurrentPeriod    *period   `json:"current_period"`
	Plan             struct{ ID, Key string }
	Phases           []struct {
		Items []struct {
			RateCard rateCardRead `json:"rate_card"`
		}
	}
}

type rateCardRead struct {
	Key, Name string
	Feature   *struct{ ID string }
	Price     struct{ Type, Amount string }
}

type chargeRead struct {
	ID, Name, Type, Status, Currency string
	FeatureKey                       string    `json:"feature_key"`
	FeatureID                        string    `json:"feature_id"`
	ServicePeriod                    period    `json:"service_period"`
	FullServicePeriod                period    `json:"full_service_period"`
	BillingPeriod                    period    `json:"billing_period"`
	InvoiceAt                        time.Time `json:"invoice_at"`
	Subscription                     struct{ ID string }
	Totals                           struct {
		Booked   struct{ Amount, Total string }
		Realtime *struct{ Amount, Total string }
	}
}

// idOf is the id of the customer with key, read as a user would.
func idOf(t *testing.T, base, key string) string {
	t.Helper()
	var customers page[struct{ ID, Key string }]
	if st := getJSON(t, base+"/openmeter/customers?filter[key][eq]="+key, &customers); st != http.StatusOK || len(customers.Data) != 1 {
		t.Fatalf("customer %s: %d %+v", key, st, customers.Data)
	}
	return customers.Data[0].ID
}

func subscriptionsOf(t *testing.T, base, customerID string) []subscriptionRead {
	t.Helper()
	var subs page[subscriptionRead]
	if st := getJSON(t, base+"/openmeter/subscriptions?filter[customer_id][eq]="+customerID, &subs); st != http.StatusOK {
		t.Fatalf("subscriptions of %s = %d", customerID, st)
	}
	return subs.Data
}

func chargesOf(t *testing.T, base, customerID, query string) []chargeRead {
	t.Helper()
	var charges page[chargeRead]
	if st := getJSON(t, base+"/openmeter/customers/"+customerID+"/charges"+query, &charges); st != http.StatusOK {
		t.Fatalf("charges of %s = %d", customerID, st)
	}
	return charges.Data
}

// The guide's plan: the feature agent_runs on the meter agent_runs, a
// plan pricing it per run, and acme-inc subscribed monthly from when the
// sandbox started.
func TestGuidePlanAndSubscriptionFollowTheSpec(t *testing.T) {
	before := time.Now().UTC().Truncate(time.Second)
	_, base := readAPI(t, sandbox.WithCustomer(sandbox.Customer{Key: "globex-corp", Name: "Globex"}),
		sandbox.WithPlan(sandbox.Plan{Key: "seats", Name: "Seats", RateCards: []sandbox.RateCard{{Key: "seats", Name: "seats", FeatureKey: "seats", UnitPrice: "5"}}}))
	after := time.Now()

	var meters page[struct{ ID, Key string }]
	getJSON(t, base+"/openmeter/meters", &meters)
	var features page[struct {
		ID, Key, Name string
		Meter         *struct{ ID string }
	}]
	if st := getJSON(t, base+"/openmeter/features?filter[meter_id][eq]="+meters.Data[0].ID, &features); st != http.StatusOK {
		t.Fatalf("features = %d", st)
	}
	if len(features.Data) != 1 || features.Data[0].Key != "agent_runs" || features.Data[0].Name != "agent-runs" || features.Data[0].Meter.ID != meters.Data[0].ID {
		t.Fatalf("features of meter agent_runs = %+v, want agent_runs (agent-runs) on %s", features.Data, meters.Data[0].ID)
	}
	featureID := features.Data[0].ID
	if a := get(t, base+"/openmeter/features/"+featureID); a.status != http.StatusOK || !strings.Contains(string(a.body), `"agent-runs"`) {
		t.Errorf("get-feature %s = %d %s", featureID, a.status, a.body)
	}

	// Two plans, one a page: the guide's, then one pricing no meter.
	var plans []string
	var guide rateCardRead
	for _, number := range []string{"1", "2"} {
		var p page[struct {
			ID, Key, Status, Currency string
			Phases                    []struct {
				RateCards []rateCardRead `json:"rate_cards"`
			}
		}]
		getJSON(t, base+"/openmeter/plans?page[size]=1&page[number]="+number, &p)
		if len(p.Data) != 1 || p.Meta.Page.Total != 2 {
			t.Fatalf("plans page %s = %+v (total %d), want one of 2", number, p.Data, p.Meta.Page.Total)
		}
		plans = append(plans, p.Data[0].Key)
		if p.Data[0].Key == "agents" {
			guide = p.Data[0].Phases[0].RateCards[0]
		}
	}
	if strings.Join(plans, ",") != "agents,seats" {
		t.Errorf("plans %v, want agents and seats", plans)
	}
	if guide.Name != "agent-runs" || guide.Price.Type != "unit" || guide.Price.Amount != "0.10" || guide.Feature == nil || guide.Feature.ID != featureID {
		t.Errorf("the guide's rate card = %+v, want agent-runs at 0.10 a unit of feature %s", guide, featureID)
	}

	acme := idOf(t, base, "acme-inc")
	subs := subscriptionsOf(t, base, acme)
	if len(subs) != 1 {
		t.Fatalf("subscriptions of acme-inc = %+v, want the guide's", subs)
	}
	s := subs[0]
	if s.Status != "active" || s.CustomerID != acme || s.Plan.Key != "agents" || s.BillingCadence != "P1M" {
		t.Errorf("subscription %+v, want acme-inc on agents, active, monthly", s)
	}
	if s.ActiveFrom.Before(before) || s.ActiveFrom.After(after) || !s.BillingAnchor.Equal(s.ActiveFrom) {
		t.Errorf("active_from %s (anchor %s), want when the sandbox started, %s..%s", s.ActiveFrom, s.BillingAnchor, before, after)
	}
	if s.CurrentPeriod == nil || !s.CurrentPeriod.From.Equal(s.ActiveFrom) || !s.CurrentPeriod.To.Equal(s.ActiveFrom.AddDate(0, 1, 0)) {
		t.Errorf("current period %+v, want a month from %s", s.CurrentPeriod, s.ActiveFrom)
	}
	if len(s.Phases) != 1 || len(s.Phases[0].Items) != 1 || s.Phases[0].Items[0].RateCard.Key != "agent_runs" {
		t.Errorf("phases %+v, want one item of the rate card agent_runs", s.Phases)
	}
	if a := get(t, base+"/openmeter/subscriptions/"+s.ID); a.status != http.StatusOK || !strings.Contains(string(a.body), s.ID) {
		t.Errorf("get-subscription %s = %d %s", s.ID, a.status, a.body)
	}

	if subs := subscriptionsOf(t, base, idOf(t, base, "globex-corp")); len(subs) != 0 {
		t.Errorf("subscriptions of globex-corp = %+v, want none", subs)
	}
	for _, path := range []string{"/openmeter/subscriptions/", "/openmeter/features/", "/openmeter/plans/"} {
		if a := get(t, base+path+"01KBR1DGESANDBX0000000000Z"); a.status != http.StatusNotFound || !strings.Contains(string(a.body), "01KBR1DGESANDBX0000000000Z not found") {
			t.Errorf("GET %s of an unknown id = %d %s, want 404 naming it", path, a.status, a.body)
		}
	}
}

// The guide's flow: three runs for acme-inc after its subscription
// starts are three runs on its charge for agent-runs; a run timed before
// is stored and metered, but on no charge.
func TestGuideRunsAreCharged(t *testing.T) {
	_, base := readAPI(t, sandbox.WithCustomer(sandbox.Customer{Key: "globex-corp", Name: "Globex"}))
	acme := idOf(t, base, "acme-inc")
	sub := subscriptionsOf(t, base, acme)[0]
	now := time.Now()
	for _, body := range []string{
		runAt("8655CDD7-0775-4AEA-AF8C-89C47EBC8828", "acme-inc", "summarizer", now),
		runAt("3EC7EFD0-5B78-47A4-AE9E-15965675CF95", "acme-inc", "summarizer", now),
		runAt("48FC220C-C124-4B73-B378-7DC5CF88DD1A", "acme-inc", "translator", now),
		runAt("before-the-subscription", "acme-inc", "summarizer", sub.ActiveFrom.Add(-time.Hour)),
		runAt("globex-1", "globex-corp", "summarizer", now),
	} {
		if a := post(t, base+"/openmeter/events", oneType, body); a.status != http.StatusAccepted {
			t.Fatalf("ingest: %d %s", a.status, a.body)
		}
	}

	charges := chargesOf(t, base, acme, "?expand=real_time_usage")
	if len(charges) != 1 {
		t.Fatalf("charges of acme-inc = %+v, want one for agent-runs", charges)
	}
	c := charges[0]
	if c.Type != "usage_based" || c.FeatureKey != "agent_runs" || c.Name != "agent-runs" || c.Status != "active" || c.Currency != "USD" || c.Subscription.ID != sub.ID {
		t.Errorf("charge %+v, want agent-runs of subscription %s, active", c, sub.ID)
	}
	if !c.ServicePeriod.From.Equal(sub.ActiveFrom) || c.ServicePeriod != *sub.CurrentPeriod || c.BillingPeriod != c.ServicePeriod || !c.InvoiceAt.Equal(c.ServicePeriod.To) {
		t.Errorf("charge periods %+v, invoice at %s; want the subscription's current period %+v", c.ServicePeriod, c.InvoiceAt, sub.CurrentPeriod)
	}
	if c.Totals.Realtime == nil || c.Totals.Realtime.Amount != "0.3" || c.Totals.Realtime.Total != "0.3" || c.Totals.Booked.Amount != "0" {
		t.Errorf("totals %+v, want 3 runs at 0.10 in real time (0.3) and nothing booked yet", c.Totals)
	}

	// The line's quantity: the feature's meter over the charge's service
	// period, for the customer; over the day, the run before counts too.
	var meters page[struct{ ID string }]
	getJSON(t, base+"/openmeter/meters", &meters)
	count := func(from, to time.Time) string {
		q, _ := json.Marshal(map[string]any{"from": from, "to": to, "filters": map[string]any{"dimensions": map[string]any{"customer_id": map[string]any{"eq": acme}}}})
		a := post(t, base+"/openmeter/meters/"+meters.Data[0].ID+"/query", "application/json", string(q))
		var res struct{ Data []struct{ Value string } }
		if err := json.Unmarshal(a.body, &res); a.status != http.StatusOK || err != nil || len(res.Data) != 1 {
			t.Fatalf("query: %d %s", a.status, a.body)
		}
		return res.Data[0].Value
	}
	if got := count(c.ServicePeriod.From, c.ServicePeriod.To); got != "3" {
		t.Errorf("quantity over the service period = %s, want 3", got)
	}
	if got := count(sub.ActiveFrom.Add(-24*time.Hour), c.ServicePeriod.To); got != "4" {
		t.Errorf("the meter over a day before = %s, want 4: the run before the subscription is metered", got)
	}
	var stored storedEvents
	getJSON(t, base+"/openmeter/events?filter[id][eq]=before-the-subscription", &stored)
	if len(stored.Data) != 1 || stored.Data[0].Customer == nil || stored.Data[0].Customer.ID != acme {
		t.Errorf("the run before the subscription: %+v, want stored for acme-inc", stored.Data)
	}

	if c := chargesOf(t, base, acme, ""); len(c) != 1 || c[0].Totals.Realtime != nil {
		t.Errorf("charges without expand = %+v, want no real-time totals", c)
	}
	if c := chargesOf(t, base, idOf(t, base, "globex-corp"), "?expand=real_time_usage"); len(c) != 0 {
		t.Errorf("charges of globex-corp, without a subscription = %+v, want none", c)
	}
	api := strings.Replace(base, "/v3", "/api/v3", 1)
	if c := chargesOf(t, api, acme, "?expand=real_time_usage"); len(c) != 1 || c[0].Totals.Realtime.Amount != "0.3" {
		t.Errorf("charges under /api/v3 = %+v, want the same", c)
	}
	a := get(t, base+"/openmeter/customers/01KBR1DGESANDBX0000000000Z/charges")
	var p problem
	if err := json.Unmarshal(a.body, &p); a.status != http.StatusNotFound || err != nil || p.Detail != "customer 01KBR1DGESANDBX0000000000Z not found" {
		t.Errorf("charges of an unknown customer = %d %s, want 404 naming it", a.status, a.body)
	}
	_, plain := start(t, sandbox.WithGuide()) // the spec refuses the request before the sandbox would
	if a := get(t, plain.URL+"/v3/openmeter/customers/"+idOf(t, plain.URL+"/v3", "acme-inc")+"/charges?expand=lines"); a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "expand must be real_time_usage") {
		t.Errorf("an unknown expand = %d %s, want 400 naming it", a.status, a.body)
	}
}

// A subscription that started 40 days ago has a final charge for its
// first month, booked, and an active one for the second; a plan that
// prices no meter charges nothing, whatever the customer sends.
func TestChargesByServicePeriod(t *testing.T) {
	since := time.Now().UTC().AddDate(0, 0, -40).Truncate(time.Second)
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	_, base := readAPI(t,
		sandbox.WithCustomer(sandbox.Customer{Key: "initech", Name: "Initech"}),
		sandbox.WithSubscription(sandbox.Subscription{CustomerKey: "initech", PlanKey: "agents", ActiveFrom: since}),
		sandbox.WithCustomer(sandbox.Customer{Key: "umbrella", Name: "Umbrella"}),
		sandbox.WithSubscription(sandbox.Subscription{CustomerKey: "umbrella", PlanKey: "agents", ActiveFrom: since, ActiveTo: since.AddDate(0, 0, 10)}),
		sandbox.WithCustomer(sandbox.Customer{Key: "hooli", Name: "Hooli"}),
		sandbox.WithSubscription(sandbox.Subscription{CustomerKey: "hooli", PlanKey: "agents", ActiveFrom: since, ActiveTo: tomorrow}),
		sandbox.WithCustomer(sandbox.Customer{Key: "globex-corp", Name: "Globex"}),
		sandbox.WithFeature(sandbox.Feature{Key: "seats", Name: "seats"}),
		sandbox.WithPlan(sandbox.Plan{Key: "seats", Name: "Seats", RateCards: []sandbox.RateCard{{Key: "seats", Name: "seats", FeatureKey: "seats", UnitPrice: "5"}}}),
		sandbox.WithSubscription(sandbox.Subscription{CustomerKey: "globex-corp", PlanKey: "seats"}))
	for _, body := range []string{
		runAt("first-month-1", "initech", "summarizer", since.Add(time.Hour)),
		runAt("first-month-2", "initech", "summarizer", since.Add(2*time.Hour)),
		runAt("second-month", "initech", "translator", time.Now()),
		runAt("globex-1", "globex-corp", "summarizer", time.Now()),
		runAt("umbrella-1", "umbrella", "summarizer", since.Add(time.Hour)),
		runAt("umbrella-after-the-end", "umbrella", "summarizer", since.AddDate(0, 0, 11)),
	} {
		if a := post(t, base+"/openmeter/events", oneType, body); a.status != http.StatusAccepted {
			t.Fatalf("ingest: %d %s", a.status, a.body)
		}
	}

	initech := idOf(t, base, "initech")
	var got []chargeRead
	for _, number := range []string{"1", "2"} {
		var p page[chargeRead]
		getJSON(t, base+"/openmeter/customers/"+initech+"/charges?expand=real_time_usage&page[size]=1&page[number]="+number, &p)
		if len(p.Data) != 1 || p.Meta.Page.Total != 2 {
			t.Fatalf("charges page %s = %+v (total %d), want one of 2", number, p.Data, p.Meta.Page.Total)
		}
		got = append(got, p.Data[0])
	}
	first, second := got[0], got[1]
	if first.Status != "final" || !first.ServicePeriod.From.Equal(since) || !first.ServicePeriod.To.Equal(since.AddDate(0, 1, 0)) ||
		first.Totals.Booked.Amount != "0.2" || first.Totals.Realtime.Amount != "0.2" {
		t.Errorf("first month's charge %+v, want final from %s, 2 runs booked (0.2)", first, since)
	}
	if second.Status != "active" || !second.ServicePeriod.From.Equal(first.ServicePeriod.To) || second.Totals.Booked.Amount != "0" ||
		second.Totals.Realtime.Amount != "0.1" || first.ID == second.ID {
		t.Errorf("second month's charge %+v, want active from %s, 1 run in real time (0.1)", second, first.ServicePeriod.To)
	}
	var final page[chargeRead]
	getJSON(t, base+"/openmeter/customers/"+initech+"/charges?filter[status][eq]=final", &final)
	if len(final.Data) != 1 || final.Data[0].ID != first.ID {
		t.Errorf("final charges = %+v, want the first month's", final.Data)
	}
	subs := subscriptionsOf(t, base, initech)
	if len(subs) != 1 || subs[0].CurrentPeriod == nil || *subs[0].CurrentPeriod != second.ServicePeriod {
		t.Errorf("initech's subscription %+v, want the current period %+v", subs, second.ServicePeriod)
	}

	umbrella := idOf(t, base, "umbrella")
	if subs := subscriptionsOf(t, base, umbrella); len(subs) != 1 || subs[0].Status != "inactive" || subs[0].CurrentPeriod != nil {
		t.Errorf("umbrella's subscription, ended = %+v, want inactive without a current period", subs)
	}
	ended := chargesOf(t, base, umbrella, "?expand=real_time_usage")
	if len(ended) != 1 || ended[0].Status != "final" || !ended[0].ServicePeriod.To.Equal(since.AddDate(0, 0, 10)) ||
		!ended[0].FullServicePeriod.To.Equal(since.AddDate(0, 1, 0)) || ended[0].Totals.Booked.Amount != "0.1" {
		t.Errorf("umbrella's charges = %+v, want one final to the subscription's end with the 1 run before it (0.1)", ended)
	}

	hooli := subscriptionsOf(t, base, idOf(t, base, "hooli"))
	if len(hooli) != 1 || hooli[0].Status != "canceled" || hooli[0].CurrentPeriod == nil || !hooli[0].CurrentPeriod.To.Equal(tomorrow) {
		t.Errorf("hooli's subscription, ending tomorrow = %+v, want canceled, its current period ending with it", hooli)
	}

	seats := chargesOf(t, base, idOf(t, base, "globex-corp"), "?expand=real_time_usage")
	if len(seats) != 1 || seats[0].FeatureKey != "seats" || seats[0].Totals.Realtime.Amount != "0" {
		t.Errorf("globex-corp's charges on a plan pricing no meter = %+v, want seats at 0", seats)
	}
}

// A sandbox kept across a restart, started again WithStarted its first
// start, keeps the guide's subscription where it was.
func TestRestartKeepsActiveFrom(t *testing.T) {
	saved := sandbox.New(sandbox.WithGuide()).Started().Add(-36 * time.Hour) // as if it first started 36 hours ago
	_, base := readAPI(t, sandbox.WithStarted(saved))
	subs := subscriptionsOf(t, base, idOf(t, base, "acme-inc"))
	if len(subs) != 1 || !subs[0].ActiveFrom.Equal(saved) || !subs[0].CurrentPeriod.From.Equal(saved) {
		t.Errorf("after a restart: %+v, want active from the first start %s", subs, saved)
	}
}

// An hourly plan running for 150 hours lists the charges of its latest
// MaxPeriods hours, each an hour long.
func TestChargesOfTheLatestPeriods(t *testing.T) {
	since := time.Now().UTC().Add(-150*time.Hour + 30*time.Minute).Truncate(time.Second)
	_, base := readAPI(t, sandbox.WithPlan(sandbox.Plan{Key: "hourly", Name: "Hourly", Cadence: "PT1H",
		RateCards: []sandbox.RateCard{{Key: "agent_runs", Name: "agent-runs", FeatureKey: "agent_runs", UnitPrice: "1"}}}),
		sandbox.WithCustomer(sandbox.Customer{Key: "initech", Name: "Initech"}),
		sandbox.WithSubscription(sandbox.Subscription{CustomerKey: "initech", PlanKey: "hourly", ActiveFrom: since}))
	var charges page[chargeRead]
	getJSON(t, base+"/openmeter/customers/"+idOf(t, base, "initech")+"/charges?page[size]=1000", &charges)
	if n := len(charges.Data); n != sandbox.MaxPeriods || charges.Meta.Page.Total != sandbox.MaxPeriods {
		t.Fatalf("%d charges (total %d), want the latest %d", n, charges.Meta.Page.Total, sandbox.MaxPeriods)
	}
	oldest, latest := charges.Data[0], charges.Data[len(charges.Data)-1]
	if want := since.Add(50 * time.Hour); !oldest.ServicePeriod.From.Equal(want) || !oldest.ServicePeriod.To.Equal(want.Add(time.Hour)) || oldest.Status != "final" {
		t.Errorf("oldest charge %+v, want the final hour from %s", oldest.ServicePeriod, want)
	}
	if latest.Status != "active" || !latest.ServicePeriod.From.Equal(since.Add(149*time.Hour)) {
		t.Errorf("latest charge %+v (%s), want the active hour from %s", latest.ServicePeriod, latest.Status, since.Add(149*time.Hour))
	}
}
