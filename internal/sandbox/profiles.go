package sandbox

import (
	"net/http"
	"time"
)

// DefaultCollectionInterval is the default billing profile's collection
// interval, OpenMeter's default: the final usage run of a service period
// counts the events stored before the period's end plus this.
const DefaultCollectionInterval = "PT1H"

// profileJSON is the spec's BillingProfile.
type profileJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Supplier  struct {
		Name string `json:"name"`
	} `json:"supplier"`
	Workflow struct {
		Collection struct {
			Alignment struct {
				Type string `json:"type"`
			} `json:"alignment"`
			Interval string `json:"interval"`
		} `json:"collection"`
	} `json:"workflow"`
	Apps    map[string]idRef `json:"apps"` // tax, invoicing, payment
	Default bool             `json:"default"`
}

// profilesJSON is the sandbox's one billing profile, the default, on its
// sandbox apps.
func (b billing) profilesJSON() []profileJSON {
	p := profileJSON{ID: sandboxID('B', 1), Name: "Default", CreatedAt: b.created, UpdatedAt: b.created, Default: true,
		Apps: map[string]idRef{"tax": {ID: sandboxID('A', 1)}, "invoicing": {ID: sandboxID('A', 1)}, "payment": {ID: sandboxID('A', 1)}}}
	p.Supplier.Name = "Sandbox"
	p.Workflow.Collection.Alignment.Type = "subscription"
	p.Workflow.Collection.Interval = DefaultCollectionInterval
	return []profileJSON{p}
}

// listProfiles answers list-billing-profiles, in pages.
func (s *Sandbox) listProfiles(w http.ResponseWriter, r *http.Request) *problem {
	b, _ := s.snapshot()
	return pageOf(s, w, r.URL.Query(), b.profilesJSON(), map[string]func(profileJSON) string{})
}
