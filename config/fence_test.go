package config_test

import (
	"testing"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// fenced is a production environment with the fence on.
func fenced(kv ...string) map[string]string {
	return with(with(production(), "BRIDGE_FENCE_SUBJECTS", "agent.runs.{customer}"), kv...)
}

// TestFenceMistakesAreRefusedAtStart: a binding rule the bridge cannot
// follow refuses to start, naming the setting and what is wrong.
func TestFenceMistakesAreRefusedAtStart(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		want []string
	}{
		"unknown placeholder":            {env: fenced("BRIDGE_FENCE_SUBJECTS", "agent.runs.{tenant}"), want: []string{`BRIDGE_FENCE_SUBJECTS: template "agent.runs.{tenant}"`, "unknown placeholder {tenant}", "{customer}"}},
		"wildcard":                       {env: fenced("BRIDGE_FENCE_SUBJECTS", "agent.*.{customer}"), want: []string{"BRIDGE_FENCE_SUBJECTS", "wildcard"}},
		"two customers":                  {env: fenced("BRIDGE_FENCE_SUBJECTS", "agent.runs.{customer}.{customer}"), want: []string{"BRIDGE_FENCE_SUBJECTS", "{customer} twice"}},
		"no customer":                    {env: fenced("BRIDGE_FENCE_SUBJECTS", "agent.runs.acme"), want: []string{"BRIDGE_FENCE_SUBJECTS", "no {customer}"}},
		"outside BRIDGE_SUBJECT":         {env: fenced("BRIDGE_FENCE_SUBJECTS", "agent.jobs.{customer}"), want: []string{`template "agent.jobs.{customer}" does not fit BRIDGE_SUBJECT "agent.runs.>"`, "such as agent.runs.{customer}"}},
		"outside BRIDGE_CORE_SUBJECT":    {env: fenced("BRIDGE_CORE_SUBJECT", "core.agent.runs.*", "BRIDGE_FENCE_SUBJECTS", "agent.runs.{customer},core.agent.runs.{customer}.x"), want: []string{`template "core.agent.runs.{customer}.x" does not fit BRIDGE_SUBJECT "agent.runs.>" or BRIDGE_CORE_SUBJECT "core.agent.runs.*"`}},
		"core subject without template":  {env: fenced("BRIDGE_CORE_SUBJECT", "core.agent.runs.>"), want: []string{`BRIDGE_CORE_SUBJECT "core.agent.runs.>": no template of BRIDGE_FENCE_SUBJECTS`, "every event on them would be refused", "core.agent.runs.{customer}"}},
		"templates overlap":              {env: fenced("BRIDGE_FENCE_SUBJECTS", "agent.runs.{customer},agent.{source}.{customer}"), want: []string{"BRIDGE_FENCE_SUBJECTS templates", "ambiguous"}},
		"customer table without a pair":  {env: fenced("BRIDGE_FENCE_CUSTOMERS", "acme"), want: []string{`BRIDGE_FENCE_CUSTOMERS "acme"`, "token=customer"}},
		"customer table, token twice":    {env: fenced("BRIDGE_FENCE_CUSTOMERS", "acme=a,acme=b"), want: []string{"BRIDGE_FENCE_CUSTOMERS", "mapped twice"}},
		"template and table both wrong":  {env: fenced("BRIDGE_FENCE_SUBJECTS", "agent.{customer}.{customer}", "BRIDGE_FENCE_CUSTOMERS", "acme"), want: []string{"BRIDGE_FENCE_SUBJECTS: template", "BRIDGE_FENCE_CUSTOMERS \"acme\""}},
		"customer table without fence":   {env: with(production(), "BRIDGE_FENCE_CUSTOMERS", "acme=acme-inc"), want: []string{"BRIDGE_FENCE_SUBJECTS is empty", "nothing is fenced"}},
		"fill subject without fence":     {env: with(production(), "BRIDGE_FENCE_FILL_SUBJECT", "true"), want: []string{"BRIDGE_FENCE_FILL_SUBJECT", "BRIDGE_FENCE_SUBJECTS is empty"}},
		"template for a narrower stream": {env: fenced("BRIDGE_SUBJECT", "agent.runs.eu.*"), want: []string{"does not fit BRIDGE_SUBJECT", `BRIDGE_SUBJECT "agent.runs.eu.*": no template`, "agent.runs.eu.{customer}"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { refusedSaying(t, nil, tc.env, tc.want) })
	}
}

// TestFenceSettingsFromEveryPlace: the templates and the customer table
// read the same from the environment, a flag, and the YAML file, where they
// may also be written as a list and a map.
func TestFenceSettingsFromEveryPlace(t *testing.T) {
	want := config.Fence{Subjects: "agent.runs.{customer},core.agent.runs.{customer}", Customers: "acme=acme-inc,globex=globex-corp", FillSubject: true}
	tests := map[string]struct {
		args []string
		env  map[string]string
	}{
		"environment": {env: map[string]string{
			"BRIDGE_FENCE_SUBJECTS": want.Subjects, "BRIDGE_FENCE_CUSTOMERS": want.Customers, "BRIDGE_FENCE_FILL_SUBJECT": "true"}},
		"flags": {args: []string{"--fence-subjects", want.Subjects, "--fence-customers=" + want.Customers, "--fence-fill-subject"}},
		"YAML strings": {args: []string{"--config", writeYAML(t, `
fence:
  subjects: "agent.runs.{customer},core.agent.runs.{customer}"
  customers: "acme=acme-inc,globex=globex-corp"
  fill_subject: true
`)}},
		"YAML list and map": {args: []string{"--config", writeYAML(t, `
fence:
  subjects: ["agent.runs.{customer}", "core.agent.runs.{customer}"]
  customers:
    globex: globex-corp
    acme: acme-inc
  fill_subject: true
`)}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, _, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Fence != want {
				t.Errorf("fence settings %+v, want %+v", cfg.Fence, want)
			}
			cfg.NATS.URL, cfg.Konnect.Token, cfg.Bridge.CoreSubject = "nats://nats:4222", "spat_production", "core.agent.runs.>"
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if r, err := cfg.Fence.Rule(); err != nil || r == nil {
				t.Errorf("Rule() = %v, %v, want a rule", r, err)
			}
		})
	}
}

func TestFenceIsOffByDefault(t *testing.T) {
	r, err := config.Defaults().Fence.Rule()
	if r != nil || err != nil {
		t.Errorf("Rule() of the defaults = %v, %v, want no rule", r, err)
	}
}
