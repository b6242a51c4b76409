package sandbox_test

import (
	"net/http"
	"testing"
)

// The billing profiles: one, the default, collecting an hour after a
// service period ends; a token that may not read gets 403.
func TestDefaultProfileCollectsAfterAnHour(t *testing.T) {
	sb, base := readAPI(t)
	var profiles page[struct {
		ID       string
		Default  bool
		Workflow struct {
			Collection struct {
				Interval string
			}
		}
	}]
	if st := getJSON(t, base+"/openmeter/profiles?page[size]=10", &profiles); st != http.StatusOK {
		t.Fatalf("list-billing-profiles = %d", st)
	}
	if len(profiles.Data) != 1 || !profiles.Data[0].Default || profiles.Data[0].Workflow.Collection.Interval != "PT1H" || profiles.Meta.Page.Total != 1 {
		t.Errorf("profiles %+v, want one default collecting after PT1H", profiles)
	}
	sb.SetReadRights(false)
	if st := getJSON(t, base+"/openmeter/profiles", &profiles); st != http.StatusForbidden {
		t.Errorf("profiles with an ingest-only token = %d, want 403", st)
	}
}
