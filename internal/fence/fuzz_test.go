package fence_test

import (
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/fence"
)

// FuzzParseTemplates: whatever the setting holds, the parser either refuses
// it or gives templates whose every subject binds exactly the customer put
// in {customer}'s place (and the source in {source}'s), and refuses a
// customer put anywhere else.
func FuzzParseTemplates(f *testing.F) {
	for _, s := range []string{
		"agent.runs.{customer}", "agent.runs.{source}.{customer}", "a.{customer},b.{customer}.c",
		"agent.*.{customer}", "agent.runs.>", "{customer}.{customer}", "agent.{tenant}", "a..{customer}", "",
		"{customer}", "x.{source}.{customer}.y", "a.t-{customer}", " a.{customer} ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := fence.ParseTemplates(s)
		if err != nil {
			return
		}
		for _, tpl := range ts {
			p := tpl.Pattern()
			if strings.Count(p, "*") < 1 || strings.Contains(p, ">") || strings.Contains(tpl.String(), ",") {
				t.Fatalf("template %q parsed into pattern %q", tpl, p)
			}
			subject := strings.NewReplacer("{customer}", "cust0", "{source}", "src0").Replace(tpl.String())
			r := fence.New([]fence.Template{tpl}, fence.Customers{}, false)
			if err := r.Check(subject, "cust0", "src0"); err != nil {
				t.Fatalf("template %q refuses its own subject %q: %v", tpl, subject, err)
			}
			if err := r.Check(subject, "cust1", "src0"); err == nil {
				t.Fatalf("template %q lets %q bill cust1", tpl, subject)
			}
			if err := r.Check(subject+".x", "cust0", "src0"); err == nil {
				t.Fatalf("template %q binds the longer subject %q", tpl, subject+".x")
			}
		}
	})
}
