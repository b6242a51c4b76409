package bridge_test

import (
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// The shipped alert rules and Grafana dashboard query only metrics the
// bridge really exposes: a renamed metric would leave a panel empty or an
// alert silent, with nothing else failing.
func TestDashboardAndAlertsUseMetricsTheBridgeExposes(t *testing.T) {
	t.Parallel()
	referenced := map[string][]string{} // metric -> files
	name := regexp.MustCompile(`konnect_bridge_[a-z_]+`)
	for _, file := range []string{"../../deploy/prometheus/alerts.yml", "../../deploy/grafana/konnect-bridge.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllString(string(b), -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				m = strings.TrimSuffix(m, suffix)
			}
			if !slices.Contains(referenced[m], file) {
				referenced[m] = append(referenced[m], file)
			}
		}
	}
	if len(referenced) < 10 {
		t.Fatalf("the alerts and dashboard reference only %d metrics: %v", len(referenced), slices.Sorted(maps.Keys(referenced)))
	}

	// Exercise every path once, so that every labelled metric has a series:
	// a retry (503), deliveries, a dead letter. The first request is the
	// start-up check of the token; the second, a batch, is retried.
	e := start(t, nil, sandbox.WithFault(sandbox.Times(2, sandbox.Answer(http.StatusServiceUnavailable, 0))))
	guide := testkit.Guide()
	for _, r := range guide {
		testkit.Publish(t, e.js, "agent.runs.acme", r.JSON())
	}
	testkit.Publish(t, e.js, "agent.runs.acme", []byte("not an event"))
	e.waitHeld(len(guide))
	e.waitSettled()

	exposed := e.scrape().families
	for _, m := range slices.Sorted(maps.Keys(referenced)) {
		if !exposed[m] {
			t.Errorf("%s is used by %s but the bridge does not expose it", m, strings.Join(referenced[m], " and "))
		}
	}
}
