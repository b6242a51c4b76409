package billing_test

import (
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
)

func TestAttributionByKeyOrSubjectKey(t *testing.T) {
	var acme, globex billing.Customer
	acme.Key = "acme-inc"
	acme.UsageAttribution = &struct {
		SubjectKeys []string `json:"subject_keys"`
	}{SubjectKeys: []string{"acme-prod"}}
	globex.Key = "globex-corp"
	customers := []billing.Customer{acme, globex}
	for subject, want := range map[string]string{
		"acme-inc": "acme-inc", "acme-prod": "acme-inc", "globex-corp": "globex-corp",
		"acme": "", "ACME-INC": "", "": "",
	} {
		got := ""
		if c := billing.CustomerOf(customers, subject); c != nil {
			got = c.Key
		}
		if got != want {
			t.Errorf("subject %q is billed to %q, want %q", subject, got, want)
		}
	}
}
