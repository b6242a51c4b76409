package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

const testRules = "mappings:\n" + testkit.RunRecordRule + `  - subject: "llm.usage"
    type: "'llm_tokens'"
    source: "'gateway'"
    customer: "headers['Customer']"
    data: "{'model': msg.model}"
`

// mapTest runs `bridge map test` with message on standard input, as CI
// would, and returns its exit code, standard output and standard error.
func mapTest(t *testing.T, message string, args ...string) (int, string, string) {
	t.Helper()
	old := stdin
	stdin = strings.NewReader(message)
	defer func() { stdin = old }()
	var out, errs bytes.Buffer
	code := run(append([]string{"map", "test"}, args...), &out, &errs)
	return code, out.String(), errs.String()
}

func TestMapTestPrintsTheEventOrTheDeadLetterReason(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "mapping.yaml")
	if err := os.WriteFile(rules, []byte(testRules), 0o600); err != nil {
		t.Fatal(err)
	}
	record := `{"run_id":"r-1","agent":"triage","finished_at":"2026-12-01T10:00:00Z","usage":{"input_tokens":120,"output_tokens":30}}`
	for name, c := range map[string]struct {
		message string
		args    []string
		code    int
		event   string // the id, source, subject and time of the event printed
		stderr  string
	}{
		"mapped":               {record, []string{"--subject", "agent.runs.raw.acme"}, 0, "r-1 acme-platform acme 2026-12-01T10:00:00Z", ""},
		"customer in a header": {`{"model":"m-1"}`, []string{"--subject", "llm.usage", "--header", "Customer=globex"}, 0, "map-test gateway globex", ""},
		"unmappable": {`{"run_id":"r-1","usage":{}}`, []string{"--subject", "agent.runs.raw.acme"}, 1, "",
			`bridge map: dead-lettered (unmappable): unmappable message: rule 1 (subject "agent.runs.raw.>"): time: no such key: finished_at`},
		"a blank customer": {`{"model":"m-1"}`, []string{"--subject", "llm.usage", "--header", "Customer= "}, 1, "", "bridge map: dead-lettered (unmappable)"},
		"no rule matches": {record, []string{"--subject", "agent.runs.acme"}, 1, "",
			"bridge map: no rule of " + rules + " matches subject agent.runs.acme: the bridge would read the message as a CloudEvent"},
		"no subject":   {record, nil, 1, "", `bridge map: --subject "" is empty: give the NATS subject the message arrives on`},
		"wildcard":     {record, []string{"--subject", "agent.runs.>"}, 1, "", `--subject "agent.runs.>" has a wildcard`},
		"a bad header": {record, []string{"--subject", "llm.usage", "--header", "Customer"}, 2, "", `"Customer" is not NAME=VALUE`},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errs := mapTest(t, c.message, append([]string{"--mapping", rules}, c.args...)...)
			if code != c.code || !strings.Contains(errs, c.stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d saying %q", code, errs, c.code, c.stderr)
			}
			if c.event == "" {
				if out != "" {
					t.Errorf("printed %q, want nothing on standard output", out)
				}
				return
			}
			var e struct{ ID, Source, Subject, Time, Type string }
			if err := json.Unmarshal([]byte(out), &e); err != nil {
				t.Fatalf("standard output %q is not the event: %v", out, err)
			}
			got := strings.TrimSpace(strings.Join([]string{e.ID, e.Source, e.Subject, e.Time}, " "))
			if !strings.HasPrefix(got, c.event) {
				t.Errorf("event %q, want %q", got, c.event)
			}
		})
	}
	code, _, errs := mapTest(t, record, "--subject", "agent.runs.raw.acme")
	if code != 1 || !strings.Contains(errs, "--mapping is empty") {
		t.Errorf("without --mapping: exit %d, %q", code, errs)
	}
}
