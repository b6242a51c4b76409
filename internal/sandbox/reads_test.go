package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// readAPI is the sandbox with the guide's meter and customer behind a
// check of every request and answer against the published spec.
func readAPI(t *testing.T, opts ...sandbox.Option) (*sandbox.Sandbox, string) {
	t.Helper()
	sb := sandbox.New(append([]sandbox.Option{sandbox.WithGuide()}, opts...)...)
	return sb, testkit.SpecChecked(t, sb).URL + "/v3"
}

func getJSON(t *testing.T, url string, out any, headers ...string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	a := do(t, req)
	if a.status == http.StatusOK {
		if err := json.Unmarshal(a.body, out); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return a.status
}

type storedEvents struct {
	Data []struct {
		Event struct {
			ID      string `json:"id"`
			Subject string `json:"subject"`
		} `json:"event"`
		Customer *struct {
			ID string `json:"id"`
		} `json:"customer"`
		ValidationErrors []struct {
			Code string `json:"code"`
		} `json:"validation_errors"`
	} `json:"data"`
	Meta struct {
		Page struct {
			Next *string `json:"next"`
		} `json:"page"`
	} `json:"meta"`
}

func TestListEventsFollowsTheSpec(t *testing.T) {
	_, base := readAPI(t)
	for _, body := range []string{
		guideEvent("8655CDD7-0775-4AEA-AF8C-89C47EBC8828", "summarizer"),
		guideEvent("3EC7EFD0-5B78-47A4-AE9E-15965675CF95", "summarizer"),
		guideEvent("48FC220C-C124-4B73-B378-7DC5CF88DD1A", "translator"),
		strings.Replace(guideEvent("nobody-1", "summarizer"), `"acme-inc"`, `"nobody"`, 1),
		strings.Replace(guideEvent("other-type", "summarizer"), `"agent_run"`, `"tool_call"`, 1),
	} {
		if a := post(t, base+"/openmeter/events", oneType, body); a.status != http.StatusAccepted {
			t.Fatalf("ingest: %d %s", a.status, a.body)
		}
	}

	// Two per page: three pages, every event once.
	seen := map[string]string{}
	next := base + "/openmeter/events?page[size]=2"
	pages := 0
	for next != "" {
		var page storedEvents
		if st := getJSON(t, next, &page); st != http.StatusOK {
			t.Fatalf("GET %s = %d", next, st)
		}
		pages++
		for _, e := range page.Data {
			state := "attributed"
			switch {
			case len(e.ValidationErrors) > 0:
				state = e.ValidationErrors[0].Code
			case e.Customer == nil:
				state = "no customer"
			}
			seen[e.Event.ID] = state
		}
		next = ""
		if page.Meta.Page.Next != nil {
			u, _ := url.Parse(*page.Meta.Page.Next)
			next = base + u.Path + "?" + u.RawQuery
		}
	}
	want := map[string]string{
		"8655CDD7-0775-4AEA-AF8C-89C47EBC8828": "attributed", "3EC7EFD0-5B78-47A4-AE9E-15965675CF95": "attributed",
		"48FC220C-C124-4B73-B378-7DC5CF88DD1A": "attributed", "nobody-1": "no customer", "other-type": "meter_not_found",
	}
	if pages != 3 || len(seen) != len(want) {
		t.Errorf("%d pages with %v, want 3 pages with %v", pages, seen, want)
	}
	for id, state := range want {
		if seen[id] != state {
			t.Errorf("event %s: %q, want %q", id, seen[id], state)
		}
	}

	var filtered storedEvents
	getJSON(t, base+"/openmeter/events?filter[subject][eq]=nobody&filter[time][gte]=2026-01-01T00:00:00Z", &filtered)
	if len(filtered.Data) != 1 || filtered.Data[0].Event.ID != "nobody-1" {
		t.Errorf("filter by subject: %+v, want nobody-1 only", filtered.Data)
	}
	if a := get(t, base+"/openmeter/events?filter[colour]=red"); a.status != http.StatusBadRequest {
		t.Errorf("an unknown filter = %d, want 400", a.status)
	}
}

func TestMetersCustomersAndQueryFollowTheSpec(t *testing.T) {
	_, base := readAPI(t)
	for _, body := range []string{
		guideEvent("8655CDD7-0775-4AEA-AF8C-89C47EBC8828", "summarizer"),
		guideEvent("3EC7EFD0-5B78-47A4-AE9E-15965675CF95", "summarizer"),
		guideEvent("48FC220C-C124-4B73-B378-7DC5CF88DD1A", "translator"),
	} {
		post(t, base+"/openmeter/events", oneType, body)
	}
	var meters struct {
		Data []struct{ ID, Key, EventType string }
	}
	getJSON(t, base+"/openmeter/meters", &meters)
	if len(meters.Data) != 1 || meters.Data[0].Key != "agent_runs" {
		t.Fatalf("meters = %+v, want the guide's agent_runs", meters.Data)
	}
	var customers struct {
		Data []struct {
			ID, Key string
		}
	}
	getJSON(t, base+"/openmeter/customers?filter[usage_attribution_subject_key]=acme-inc", &customers)
	if len(customers.Data) != 1 || customers.Data[0].Key != "acme-inc" {
		t.Fatalf("customers for subject acme-inc = %+v", customers.Data)
	}

	query := `{"from":"2026-01-01T00:00:00Z","to":"2026-02-01T00:00:00Z","group_by_dimensions":["agent_name"],` +
		`"filters":{"dimensions":{"customer_id":{"eq":"` + customers.Data[0].ID + `"}}}}`
	a := post(t, base+"/openmeter/meters/"+meters.Data[0].ID+"/query", "application/json", query)
	var res struct {
		Data []struct {
			Value      string
			Dimensions map[string]string
		}
	}
	if err := json.Unmarshal(a.body, &res); a.status != http.StatusOK || err != nil {
		t.Fatalf("query: %d %s", a.status, a.body)
	}
	got := map[string]string{}
	for _, r := range res.Data {
		got[r.Dimensions["agent_name"]] = r.Value
	}
	if len(got) != 2 || got["summarizer"] != "2" || got["translator"] != "1" {
		t.Errorf("usage by agent_name = %v, want summarizer 2 and translator 1", got)
	}
	if a := post(t, base+"/openmeter/meters/01KBR1DGESANDBX0000000000Z/query", "application/json", `{}`); a.status != http.StatusNotFound {
		t.Errorf("query of an unknown meter = %d, want 404", a.status)
	}
}

func TestReadRightsAndToken(t *testing.T) {
	sb, base := readAPI(t, sandbox.WithToken("spat_ok"))
	var v any
	if st := getJSON(t, base+"/openmeter/meters", &v); st != http.StatusUnauthorized {
		t.Errorf("meters without a token = %d, want 401", st)
	}
	sb.SetReadRights(false)
	if st := getJSON(t, base+"/openmeter/customers", &v, "Authorization: Bearer spat_ok"); st != http.StatusForbidden {
		t.Errorf("customers with an ingest-only token = %d, want 403", st)
	}
	if a := post(t, base+"/openmeter/events", oneType, guideEvent("a", "summarizer"), "Authorization: Bearer spat_ok"); a.status != http.StatusAccepted {
		t.Errorf("ingest with an ingest-only token = %d, want 202", a.status)
	}
}

func TestSetReadAnswerAnswersOneRead(t *testing.T) {
	sb, base := readAPI(t)
	acme := idOf(t, base, "acme-inc")
	var v any
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound} {
		sb.SetReadAnswer("/openmeter/customers/{customerId}/charges", status)
		if st := getJSON(t, base+"/openmeter/customers/"+acme+"/charges", &v); st != status {
			t.Errorf("charges set to answer %d = %d", status, st)
		}
		if st := getJSON(t, base+"/openmeter/subscriptions", &v); st != http.StatusOK {
			t.Errorf("subscriptions while charges answer %d = %d, want 200", status, st)
		}
	}
	sb.SetReadAnswer("/openmeter/customers/{customerId}/charges", 0)
	if got := chargesOf(t, base, acme, ""); len(got) != 1 {
		t.Errorf("charges served again = %+v, want acme-inc's one", got)
	}
}
