package billing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/billing"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

func TestPreflightFindings(t *testing.T) {
	guide := map[string]any{"agent_name": "summarizer"}
	tokensMeter := sandbox.Meter{Key: "tokens_total", Name: "Tokens", EventType: "agent_run", Aggregation: "sum", ValueProperty: "$.tokens"}
	modelMeter := sandbox.Meter{Key: "runs_by_model", Name: "Runs", EventType: "agent_run", Aggregation: "count", Dimensions: map[string]string{"model": "$.model"}}
	tests := map[string]struct {
		opts     []sandbox.Option
		subject  string
		noRead   bool
		want     []string // kind/what, in order
		fix      string
		cantRead bool
	}{
		"everything billable":         {opts: []sandbox.Option{sandbox.WithGuide()}, subject: "acme-inc"},
		"no meter":                    {opts: []sandbox.Option{sandbox.WithCustomer(sandbox.GuideCustomer)}, subject: "acme-inc", want: []string{"unmetered_type/agent_run"}, fix: "create a meter with event type `agent_run`"},
		"value_property missing":      {opts: []sandbox.Option{sandbox.WithMeter(tokensMeter), sandbox.WithCustomer(sandbox.GuideCustomer)}, subject: "acme-inc", want: []string{"unresolved_property/tokens_total value_property"}, fix: "value_property $.tokens of meter `tokens_total` does not resolve"},
		"dimension missing":           {opts: []sandbox.Option{sandbox.WithMeter(modelMeter), sandbox.WithCustomer(sandbox.GuideCustomer)}, subject: "acme-inc", want: []string{"unresolved_property/runs_by_model dimensions.model"}},
		"subject without customer":    {opts: []sandbox.Option{sandbox.WithGuide()}, subject: "nobody", want: []string{"unattributed_subject/nobody"}, fix: "create a customer with subject key `nobody`"},
		"subject is a customer's key": {opts: []sandbox.Option{sandbox.WithGuide(), sandbox.WithCustomer(sandbox.Customer{Key: "globex-corp", Name: "Globex"})}, subject: "globex-corp"},
		"token without read rights":   {opts: []sandbox.Option{sandbox.WithGuide()}, subject: "nobody", noRead: true, cantRead: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s := newStage(t, tt.opts...)
			s.sb.SetReadRights(!tt.noRead)
			s.publish(t, event("a", tt.subject, guide, time.Now()), event("b", tt.subject, guide, time.Now()))
			r := billing.Preflight{Client: s.client, Stream: s.stream}.Check(context.Background(), billing.NewSeen(10), lastHour(), 0)
			var got []string
			for _, f := range r.Findings {
				what := f.Type + f.Subject
				if f.Kind == billing.UnresolvedProperty {
					what = f.Meter + " " + f.Property
				}
				got = append(got, f.Kind+"/"+what)
				if f.Events != 2 {
					t.Errorf("%s: %d events, want 2", f.Kind, f.Events)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
			if tt.fix != "" && (len(r.Findings) == 0 || !strings.Contains(r.Findings[0].Fix, tt.fix)) {
				t.Errorf("findings %+v do not say %q", r.Findings, tt.fix)
			}
			if tt.cantRead != (len(r.CannotCheck) > 0) {
				t.Errorf("cannot check: %q", r.CannotCheck)
			}
			for _, c := range r.CannotCheck {
				if !strings.HasPrefix(c, "cannot check: the token lacks the right to read") {
					t.Errorf("cannot check says %q, want it to name the missing right", c)
				}
			}
			if !tt.cantRead && r.Events != 2 {
				t.Errorf("%d events read, want 2", r.Events)
			}
		})
	}
}

// TestPreflightRemembersABoundedSetOfSubjects: whatever producers send, no
// more subjects than the limit are held; the rest are counted.
func TestPreflightRemembersABoundedSetOfSubjects(t *testing.T) {
	s := newStage(t, sandbox.WithGuide())
	for i := range 5 {
		s.publish(t, event(fmt.Sprint(i), fmt.Sprintf("tenant-%d", i), nil, time.Now()))
	}
	seen := billing.NewSeen(2)
	r := billing.Preflight{Client: s.client, Stream: s.stream}.Check(context.Background(), seen, lastHour(), 0)
	if len(seen.Subjects) != 2 || r.Untracked != 3 || r.Count(billing.UnattributedSubject) != 2 {
		t.Errorf("%d subjects held, %d untracked, %d findings; want 2, 3, 2", len(seen.Subjects), r.Untracked, r.Count(billing.UnattributedSubject))
	}
}

func TestUsageIsTheGuidesInvoiceLine(t *testing.T) {
	s := newStage(t, sandbox.WithGuide())
	now := time.Now()
	s.deliver(t,
		event("8655CDD7-0775-4AEA-AF8C-89C47EBC8828", "acme-inc", map[string]any{"agent_name": "summarizer"}, now),
		event("3EC7EFD0-5B78-47A4-AE9E-15965675CF95", "acme-inc", map[string]any{"agent_name": "summarizer"}, now),
		event("48FC220C-C124-4B73-B378-7DC5CF88DD1A", "acme-inc", map[string]any{"agent_name": "translator"}, now),
		event("someone-else", "nobody", map[string]any{"agent_name": "translator"}, now))
	u, err := s.client.Usage(context.Background(), billing.UsageQuery{EventType: "agent_run", Customer: "acme-inc", GroupBy: "agent_name",
		From: now.Add(-time.Hour), To: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range u.Rows {
		got[r.Dimensions["agent_name"]] = r.Value.String()
	}
	if u.Total != 3 || got["summarizer"] != "2" || got["translator"] != "1" || u.Meter.Key != "agent_runs" {
		t.Errorf("usage of acme-inc: %v, total %v, meter %s; want summarizer 2, translator 1, total 3 on agent_runs", got, u.Total, u.Meter.Key)
	}
	if _, err := s.client.Usage(context.Background(), billing.UsageQuery{EventType: "tool_call"}); err == nil || !strings.Contains(err.Error(), "no meter counts event type \"tool_call\"") {
		t.Errorf("usage of a type without meter: %v", err)
	}
}
