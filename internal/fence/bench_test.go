package fence_test

import (
	"testing"

	ce "github.com/cloudevents/sdk-go/v2/event"
)

// BenchmarkAdmit is the per-event cost of the rule on the allowed path,
// which must not allocate.
func BenchmarkAdmit(b *testing.B) {
	cases := map[string]struct {
		templates, customers, subject string
		event                         *ce.Event
	}{
		"verbatim":          {"agent.runs.{customer}", "", "agent.runs.acme-inc", agentRun("acme-inc", "acme-platform")},
		"table":             {"agent.runs.{customer}", "acme=acme-inc,globex=globex-corp,initech=initech-llc", "agent.runs.acme", agentRun("acme-inc", "acme-platform")},
		"prefix rule":       {"agent.runs.{customer}", "t-*=org-*", "agent.runs.t-acme", agentRun("org-acme", "acme-platform")},
		"source and second": {"agent.{customer}.runs, agent.runs.{source}.{customer}", "", "agent.runs.acme-platform.acme", agentRun("acme", "acme-platform")},
	}
	for name, c := range cases {
		b.Run(name, func(b *testing.B) {
			r := rule(b, c.templates, c.customers, false)
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Admit(c.event, c.subject); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
