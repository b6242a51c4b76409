package bridge_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// An operator's view after the guide's runs and one invalid event: /metrics
// counts three delivered and one dead-lettered as invalid and says which
// build runs; the status page shows the delivered count and that the
// bridge is ready.
func TestMetricsAndStatusPageShowWhatHappened(t *testing.T) {
	t.Parallel()
	e := start(t, nil)
	guide := testkit.Guide()
	for _, r := range guide {
		testkit.Publish(t, e.js, "agent.runs.acme", r.JSON())
	}
	testkit.Publish(t, e.js, "agent.runs.acme", structured("no-subject", func(ev map[string]any) { delete(ev, "subject") }))
	e.waitHeld(len(guide))
	e.waitSettled()

	m := e.scrape()
	if got := m.value(t, "konnect_bridge_events_delivered_total"); got != 3 {
		t.Errorf("konnect_bridge_events_delivered_total = %v, want 3", got)
	}
	if got := m.value(t, `konnect_bridge_events_dead_lettered_total{reason="invalid"}`); got != 1 {
		t.Errorf(`konnect_bridge_events_dead_lettered_total{reason="invalid"} = %v, want 1`, got)
	}
	if got := m.value(t, "konnect_bridge_events_received_total"); got != 4 {
		t.Errorf("konnect_bridge_events_received_total = %v, want 4", got)
	}
	buildInfo := 0
	for series, v := range m.series {
		if strings.HasPrefix(series, "konnect_bridge_build_info{") && strings.Contains(series, `version="`) && v == 1 {
			buildInfo++
		}
	}
	if buildInfo != 1 {
		t.Errorf("%d konnect_bridge_build_info series with a version and value 1, want 1", buildInfo)
	}

	code, h, body := e.get("/")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / answered %d %s, want 200 text/html", code, h.Get("Content-Type"))
	}
	page := string(body)
	if !regexp.MustCompile(`id="delivered"[^>]*>\s*3\s*<`).MatchString(page) {
		t.Errorf("the status page does not show 3 delivered:\n%s", page)
	}
	// The dead letter: its kind, the command that lists it, its reason,
	// and the dead-letter part asking for attention.
	for _, want := range []string{
		`<tr id="dead-kind-invalid"><td>invalid</td><td>1</td><td><code>bridge dlq list --kind invalid</code>`,
		"subject: required",
		`<tr id="part-dead_letters"><td>dead_letters</td><td><span class="state warn">attention</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the status page does not show %q", want)
		}
	}
	// The stream the bridge created has one replica on file storage: the
	// page warns, as `bridge check` does.
	if !regexp.MustCompile(`id="durability"><span class="bad">1 replica\(s\), file storage</span>: stream AGENT_RUNS has 1 replica\(s\) on file storage: a server crash may lose events it acknowledged unless the server runs with sync_interval: always`).MatchString(page) {
		t.Errorf("the status page does not warn that the R1 stream may lose acknowledged events:\n%s", page)
	}
	heading := regexp.MustCompile(`(?s)<h1>(.*?)</h1>`).FindStringSubmatch(page)
	if heading == nil {
		t.Fatalf("the status page has no heading:\n%s", page)
	}
	if text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(heading[1], "")), " "); text != "konnect-bridge ready" {
		t.Errorf("the status page's heading reads %q, want %q", text, "konnect-bridge ready")
	}
}
