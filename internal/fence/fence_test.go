package fence_test

import (
	"errors"
	"strings"
	"testing"

	ce "github.com/cloudevents/sdk-go/v2/event"

	"github.com/konnect-bridge/konnect-bridge/internal/fence"
)

func rule(t testing.TB, templates, customers string, fill bool) *fence.Rule {
	t.Helper()
	ts, err := fence.ParseTemplates(templates)
	if err != nil {
		t.Fatalf("ParseTemplates(%q): %v", templates, err)
	}
	cs, err := fence.ParseCustomers(customers)
	if err != nil {
		t.Fatalf("ParseCustomers(%q): %v", customers, err)
	}
	return fence.New(ts, cs, fill)
}

func TestParseTemplates(t *testing.T) {
	good := map[string]struct{ in, patterns string }{
		"customer last":          {"agent.runs.{customer}", "agent.runs.*"},
		"source then customer":   {"agent.runs.{source}.{customer}", "agent.runs.*.*"},
		"customer then a suffix": {"agent.runs.{customer}.usage", "agent.runs.*.usage"},
		"two templates, spaced":  {"agent.runs.{customer}, core.agent.runs.{customer}", "agent.runs.*,core.agent.runs.*"},
		"customer alone":         {"{customer}", "*"},
	}
	for name, c := range good {
		t.Run(name, func(t *testing.T) {
			ts, err := fence.ParseTemplates(c.in)
			if err != nil {
				t.Fatalf("ParseTemplates(%q): %v", c.in, err)
			}
			var got []string
			for _, tpl := range ts {
				got = append(got, tpl.Pattern())
			}
			if strings.Join(got, ",") != c.patterns {
				t.Errorf("patterns %q, want %q", got, c.patterns)
			}
		})
	}
	bad := map[string]struct{ in, says string }{
		"empty":                    {"", "empty template"},
		"empty between commas":     {"agent.runs.{customer},,x.{customer}", "empty template"},
		"no customer":              {"agent.runs.acme", "no {customer}"},
		"only a source":            {"agent.runs.{source}", "no {customer}"},
		"two customers":            {"agent.{customer}.{customer}", "{customer} twice"},
		"two sources":              {"{source}.{source}.{customer}", "{source} twice"},
		"unknown placeholder":      {"agent.runs.{tenant}", "unknown placeholder {tenant}"},
		"wildcard *":               {"agent.*.{customer}", "wildcard"},
		"wildcard >":               {"agent.runs.{customer}.>", "wildcard"},
		"wildcard inside a token":  {"agent.run*.{customer}", "wildcard"},
		"placeholder in a token":   {"agent.runs.t-{customer}", "whole token"},
		"unclosed brace":           {"agent.runs.{customer", "brace"},
		"empty token":              {"agent..{customer}", "empty token"},
		"trailing dot":             {"agent.runs.{customer}.", "empty token"},
		"white space in a token":   {"agent.ru ns.{customer}", "white space"},
		"customer in braces twice": {"agent.{{customer}}", "unknown placeholder"},
	}
	for name, c := range bad {
		t.Run("refused/"+name, func(t *testing.T) {
			_, err := fence.ParseTemplates(c.in)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Errorf("ParseTemplates(%q) = %v, want an error saying %q", c.in, err, c.says)
			}
		})
	}
}

func TestParseCustomers(t *testing.T) {
	bad := map[string]struct{ in, says string }{
		"no =":                    {"acme", "not token=customer"},
		"no customer":             {"acme=", "not token=customer"},
		"no token":                {"=acme-inc", "not token=customer"},
		"empty pair":              {"acme=acme-inc,,globex=globex-corp", "not token=customer"},
		"token twice":             {"acme=acme-inc,acme=acme-corp", "mapped twice"},
		"wildcard in the middle":  {"a*b=x", "wildcard"},
		"dot in the token":        {"acme.eu=acme-inc", "dot"},
		"star without a prefix":   {"acme=org-*", "not at the end of the token"},
		"prefix without a star":   {"t-*=acme-inc", "one *"},
		"prefix with two stars":   {"t-*=*-*", "one *"},
		"brace in the token":      {"{acme}=acme-inc", "brace"},
		"white space in a token ": {"ac me=acme-inc", "white space"},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := fence.ParseCustomers(c.in)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Errorf("ParseCustomers(%q) = %v, want an error saying %q", c.in, err, c.says)
			}
		})
	}
}

// TestCheck is the rule a producer meets: each case is an event billing
// customer from source, published on subject.
func TestCheck(t *testing.T) {
	verbatim := rule(t, "agent.runs.{customer}", "", false)
	mapped := rule(t, "agent.runs.{customer}", "acme=acme-inc, globex=globex-corp", false)
	prefixes := rule(t, "agent.runs.{customer}", "t-*=*, t-vip-*=vip-*-gold, acme=acme-inc, *=org-*", false)
	withSource := rule(t, "agent.runs.{source}.{customer}, core.agent.runs.{customer}", "", false)
	cases := map[string]struct {
		rule                      *fence.Rule
		subject, customer, source string
		// refused is what the refusal says; empty when the event is allowed.
		refused string
	}{
		"own customer":                      {rule: verbatim, subject: "agent.runs.acme", customer: "acme"},
		"another tenant's customer":         {rule: verbatim, subject: "agent.runs.acme", customer: "globex", refused: `subject "globex" is not allowed on agent.runs.acme, which bills only "acme"`},
		"subject deeper than the template":  {rule: verbatim, subject: "agent.runs.acme.eu", customer: "acme", refused: "agent.runs.acme.eu fits no template of BRIDGE_FENCE_SUBJECTS (agent.runs.{customer})"},
		"subject shorter than the template": {rule: verbatim, subject: "agent.runs", customer: "runs", refused: "fits no template"},
		"another literal prefix":            {rule: verbatim, subject: "agent.jobs.acme", customer: "acme", refused: "fits no template"},
		"no customer: left to the rules":    {rule: verbatim, subject: "agent.runs.acme"},
		"mapped token":                      {rule: mapped, subject: "agent.runs.acme", customer: "acme-inc"},
		"mapped token, its raw name":        {rule: mapped, subject: "agent.runs.acme", customer: "acme", refused: `subject "acme" is not allowed on agent.runs.acme, which bills only "acme-inc"`},
		"mapped token, another customer":    {rule: mapped, subject: "agent.runs.globex", customer: "acme-inc", refused: `which bills only "globex-corp"`},
		"token not in the table":            {rule: mapped, subject: "agent.runs.initech", customer: "initech", refused: `BRIDGE_FENCE_CUSTOMERS maps "initech" to no customer`},
		"prefix rule strips":                {rule: prefixes, subject: "agent.runs.t-globex", customer: "globex"},
		"prefix rule, wrong customer":       {rule: prefixes, subject: "agent.runs.t-globex", customer: "globe", refused: `which bills only "globex"`},
		"longer prefix wins":                {rule: prefixes, subject: "agent.runs.t-vip-umbrella", customer: "vip-umbrella-gold"},
		"longer prefix, shorter's answer":   {rule: prefixes, subject: "agent.runs.t-vip-umbrella", customer: "vip-umbrella", refused: `which bills only "vip-umbrella-gold"`},
		"exact wins over prefixes":          {rule: prefixes, subject: "agent.runs.acme", customer: "acme-inc"},
		"catch-all prefix":                  {rule: prefixes, subject: "agent.runs.hooli", customer: "org-hooli"},
		"catch-all, raw token":              {rule: prefixes, subject: "agent.runs.hooli", customer: "hooli", refused: `which bills only "org-hooli"`},
		"prefix needs a rest":               {rule: prefixes, subject: "agent.runs.t-", customer: "org-t-"},
		"source and customer":               {rule: withSource, subject: "agent.runs.acme-platform.acme", customer: "acme", source: "acme-platform"},
		"another source":                    {rule: withSource, subject: "agent.runs.acme-platform.acme", customer: "acme", source: "globex-platform", refused: `source "globex-platform" is not allowed on agent.runs.acme-platform.acme, which agent.runs.{source}.{customer} binds to the source "acme-platform"`},
		"a template without source":         {rule: withSource, subject: "core.agent.runs.acme", customer: "acme", source: "anything"},
		"second template, wrong customer":   {rule: withSource, subject: "core.agent.runs.acme", customer: "globex", refused: `subject "globex" is not allowed on core.agent.runs.acme`},
		"quoted, so a header stays whole":   {rule: verbatim, subject: "agent.runs.acme", customer: "glo\r\nbex", refused: `subject "glo\r\nbex"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.rule.Check(c.subject, c.customer, c.source)
			switch {
			case c.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.refused != "" && err == nil:
				t.Errorf("allowed, want refused saying %q", c.refused)
			case c.refused != "" && (!errors.Is(err, fence.ErrRefused) || !strings.Contains(err.Error(), c.refused)):
				t.Errorf("refused with %q (ErrRefused: %v), want it to say %q", err, errors.Is(err, fence.ErrRefused), c.refused)
			}
		})
	}
}

func agentRun(customer, source string) *ce.Event {
	e := ce.New(ce.CloudEventsVersionV1)
	e.SetID("run-1")
	e.SetType("agent_run")
	e.SetSource(source)
	e.SetSubject(customer)
	return &e
}

func TestAdmit(t *testing.T) {
	cases := map[string]struct {
		rule              *fence.Rule
		subject, customer string
		// bills is the customer of the event admitted; empty when refused.
		bills, refused string
	}{
		"no rule admits everything":    {rule: nil, subject: "agent.runs.acme", customer: "globex", bills: "globex"},
		"own customer":                 {rule: rule(t, "agent.runs.{customer}", "acme=acme-inc", false), subject: "agent.runs.acme", customer: "acme-inc", bills: "acme-inc"},
		"another tenant's customer":    {rule: rule(t, "agent.runs.{customer}", "acme=acme-inc", false), subject: "agent.runs.acme", customer: "globex", refused: `subject "globex" is not allowed on agent.runs.acme`},
		"no customer, not filled":      {rule: rule(t, "agent.runs.{customer}", "acme=acme-inc", false), subject: "agent.runs.acme", bills: ""},
		"no customer, filled":          {rule: rule(t, "agent.runs.{customer}", "acme=acme-inc", true), subject: "agent.runs.acme", bills: "acme-inc"},
		"no customer, filled verbatim": {rule: rule(t, "agent.runs.{customer}", "", true), subject: "agent.runs.acme", bills: "acme"},
		"no customer, unmapped token":  {rule: rule(t, "agent.runs.{customer}", "acme=acme-inc", true), subject: "agent.runs.initech", refused: `maps "initech" to no customer`},
		"no customer, unbound subject": {rule: rule(t, "agent.runs.{customer}", "", true), subject: "agent.runs.a.b", refused: "fits no template"},
		"source bound, the right one":  {rule: rule(t, "agent.runs.{source}.{customer}", "", false), subject: "agent.runs.acme-platform.acme", customer: "acme", bills: "acme"},
		"source bound, another one":    {rule: rule(t, "agent.runs.{source}.{customer}", "", false), subject: "agent.runs.globex-platform.acme", customer: "acme", refused: `source "acme-platform" is not allowed`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := agentRun(c.customer, "acme-platform")
			err := c.rule.Admit(e, c.subject)
			if c.refused != "" {
				if !errors.Is(err, fence.ErrRefused) || !strings.Contains(err.Error(), c.refused) {
					t.Errorf("Admit = %v, want refused saying %q", err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if e.Subject() != c.bills {
				t.Errorf("the event admitted bills %q, want %q", e.Subject(), c.bills)
			}
		})
	}
}
