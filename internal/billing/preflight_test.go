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
	// acme-inc subscribed to the guide's plan from the sandbox's start.
	subscribed := func(opts ...sandbox.Option) []sandbox.Option {
		return append(opts, sandbox.WithCustomer(sandbox.GuideCustomer), sandbox.WithFeature(sandbox.GuideFeature), sandbox.WithPlan(sandbox.GuidePlan), sandbox.WithSubscription(sandbox.GuideSubscription))
	}
	tests := map[string]struct {
		opts     []sandbox.Option
		subject  string
		noRead   bool
		want     []string // kind/what, in order
		fix      string
		cantRead bool
	}{
		"everything billable":         {opts: []sandbox.Option{sandbox.WithGuide()}, subject: "acme-inc"},
		"no meter":                    {opts: subscribed(), subject: "acme-inc", want: []string{"unmetered_type/agent_run"}, fix: "create a meter with event type `agent_run`"},
		"value_property missing":      {opts: subscribed(sandbox.WithMeter(sandbox.GuideMeter), sandbox.WithMeter(tokensMeter)), subject: "acme-inc", want: []string{"unresolved_property/tokens_total value_property"}, fix: "value_property $.tokens of meter `tokens_total` does not resolve"},
		"dimension missing":           {opts: subscribed(sandbox.WithMeter(sandbox.GuideMeter), sandbox.WithMeter(modelMeter)), subject: "acme-inc", want: []string{"unresolved_property/runs_by_model dimensions.model"}},
		"subject without customer":    {opts: []sandbox.Option{sandbox.WithGuide()}, subject: "nobody", want: []string{"unattributed_subject/nobody"}, fix: "create a customer with subject key `nobody`"},
		"subject is a customer's key": {opts: []sandbox.Option{sandbox.WithGuide(), sandbox.WithCustomer(sandbox.Customer{Key: "globex-corp", Name: "Globex"})}, subject: "globex-corp", want: []string{"no_subscription/globex-corp"}, fix: "has no subscription: its usage is metered, not invoiced"},
		"plan prices no meter of theirs": {opts: []sandbox.Option{sandbox.WithGuide(),
			sandbox.WithMeter(sandbox.Meter{Key: "llm_tokens", Name: "LLM tokens", EventType: "llm_call", Aggregation: "sum", ValueProperty: "$.tokens"}),
			sandbox.WithFeature(sandbox.Feature{Key: "tokens", Name: "tokens", MeterKey: "llm_tokens"}),
			sandbox.WithPlan(sandbox.Plan{Key: "tokens_only", Name: "Tokens only", Currency: "USD", Cadence: "P1M", RateCards: []sandbox.RateCard{{Key: "tokens", Name: "tokens", FeatureKey: "tokens", UnitPrice: "0.01"}}}),
			sandbox.WithCustomer(sandbox.Customer{Key: "globex-corp", Name: "Globex"}),
			sandbox.WithSubscription(sandbox.Subscription{CustomerKey: "globex-corp", PlanKey: "tokens_only", ActiveFrom: time.Now().Add(-time.Hour)})},
			subject: "globex-corp", want: []string{"not_priced/globex-corp"}, fix: "plan `tokens_only` of subscription Tokens only prices no feature whose meter counts agent_run events"},
		"token without read rights": {opts: []sandbox.Option{sandbox.WithGuide()}, subject: "nobody", noRead: true, cantRead: true},
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

// TestPreflightSaysWhatNoInvoiceShows: the guide's warning ("only invoices
// and meters events that are sent after the subscription is created"), by
// the event's time: runs timed before acme-inc's subscription, runs of a
// customer whose subscription ended, runs of a customer with none. Runs
// timed inside a subscription are no finding.
func TestPreflightSaysWhatNoInvoiceShows(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	s := newStage(t, sandbox.WithGuide(),
		sandbox.WithCustomer(sandbox.Customer{Key: "globex-corp", Name: "Globex"}),
		sandbox.WithSubscription(sandbox.Subscription{CustomerKey: "globex-corp", PlanKey: sandbox.GuidePlan.Key, ActiveFrom: now.Add(-72 * time.Hour), ActiveTo: now.Add(-24 * time.Hour)}),
		sandbox.WithCustomer(sandbox.Customer{Key: "initech", Name: "Initech"}))
	run := map[string]any{"agent_name": "summarizer"}
	early, earlier := now.Add(-30*time.Minute), now.Add(-50*time.Minute)
	s.publish(t,
		event("in-1", "acme-inc", run, now), event("in-2", "acme-inc", run, now.Add(time.Second)),
		event("early-1", "acme-inc", run, early), event("early-2", "acme-inc", run, earlier),
		event("ended-1", "globex-corp", run, now),
		event("none-1", "initech", run, now), event("none-2", "initech", run, now), event("none-3", "initech", run, now))
	r := billing.Preflight{Client: s.client, Stream: s.stream}.Check(context.Background(), billing.NewSeen(10), lastHour(), 0)
	got := map[string]billing.Finding{}
	for _, f := range r.Findings {
		got[f.Kind+"/"+f.Customer] = f
	}
	want := map[string]int{"before_subscription/acme-inc": 2, "subscription_ended/globex-corp": 1, "no_subscription/initech": 3}
	if len(got) != len(want) || len(r.CannotCheck) > 0 {
		t.Fatalf("findings %+v (cannot check %q), want %v", r.Findings, r.CannotCheck, want)
	}
	for k, n := range want {
		if got[k].Events != n {
			t.Errorf("%s: %d events, want %d", k, got[k].Events, n)
		}
	}
	if f := got["before_subscription/acme-inc"]; !f.Since.Equal(earlier) || !f.Until.Equal(early) || !strings.Contains(f.Fix, "timed before the subscription of `acme-inc` starts") {
		t.Errorf("runs before the subscription: %s to %s, %q; want %s to %s and the subscription's start", f.Since, f.Until, f.Fix, earlier, early)
	}
	if r.Findings[0].Kind != billing.NoSubscription {
		t.Errorf("the most events come first: %v", r.Findings[0])
	}
}

// TestPreflightAsksKonnectPerCustomerNotPerCheck: the running bridge's
// checks read a customer's subscriptions once per CacheFor, whatever the
// events, and at most the budget of customers a check; the customers past
// it are said and read at the next check.
func TestPreflightAsksKonnectPerCustomerNotPerCheck(t *testing.T) {
	var opts []sandbox.Option
	for i := range 3 {
		opts = append(opts, sandbox.WithCustomer(sandbox.Customer{Key: fmt.Sprintf("tenant-%d", i), Name: "Tenant"}))
	}
	s := newStage(t, append(opts, sandbox.WithGuide())...)
	for i := range 3 {
		s.publish(t, event(fmt.Sprint("a", i), fmt.Sprintf("tenant-%d", i), nil, time.Now()), event(fmt.Sprint("b", i), fmt.Sprintf("tenant-%d", i), nil, time.Now()))
	}
	p := billing.Preflight{Client: s.client, Stream: s.stream, Cache: billing.NewCache(time.Hour, 2)}
	r := p.Check(context.Background(), billing.NewSeen(10), lastHour(), 0)
	if got := s.subReads.Load(); got != 2 || r.Count(billing.NoSubscription) != 2 || len(r.CannotCheck) != 1 || !strings.Contains(r.CannotCheck[0], "2 events of customers whose subscriptions this check did not read") {
		t.Fatalf("first check: %d subscription reads, %d no_subscription findings, cannot check %q; want 2 reads (the budget), 2 findings and the third customer said", got, r.Count(billing.NoSubscription), r.CannotCheck)
	}
	r = p.Check(context.Background(), billing.NewSeen(10), lastHour(), 0)
	if got := s.subReads.Load(); got != 3 || r.Count(billing.NoSubscription) != 3 || len(r.CannotCheck) != 0 {
		t.Errorf("second check: %d subscription reads in all, %d findings, %q; want the third customer read, the others from the cache", got, r.Count(billing.NoSubscription), r.CannotCheck)
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
