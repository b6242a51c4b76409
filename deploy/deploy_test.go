package deploy_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	alertsFile    = "prometheus/alerts.yml"
	dashboardFile = "grafana/konnect-bridge.json"
)

// bridgeMetrics is every metric the bridge serves on /metrics, with its type.
// It must match the bridge's /metrics: keep it in step when a metric is added,
// renamed or removed there (the bridge's own tests cross-check this list).
var bridgeMetrics = map[string]string{
	"konnect_bridge_events_received_total":           "counter",
	"konnect_bridge_events_delivered_total":          "counter",
	"konnect_bridge_events_dead_lettered_total":      "counter", // reason: invalid|undecodable|rejected|too_large
	"konnect_bridge_retries_total":                   "counter", // cause: rate_limited|server_error|timeout|connection|outage
	"konnect_bridge_batches_sent_total":              "counter",
	"konnect_bridge_batch_size_events":               "histogram",
	"konnect_bridge_request_duration_seconds":        "histogram",
	"konnect_bridge_konnect_responses_total":         "counter", // code
	"konnect_bridge_batches_in_flight":               "gauge",
	"konnect_bridge_consumer_pending_messages":       "gauge",
	"konnect_bridge_consumer_ack_pending_messages":   "gauge",
	"konnect_bridge_consumer_redelivered_messages":   "gauge",
	"konnect_bridge_standby":                         "gauge",
	"konnect_bridge_last_delivery_timestamp_seconds": "gauge",
	"konnect_bridge_core_dropped_total":              "counter",
	"konnect_bridge_dead_letters_foreign_total":      "counter", // found: forged|unsealed|other-key
	"konnect_bridge_events_not_invoiced_total":       "counter", // reason: no_subscription|before_subscription|subscription_ended
	"konnect_bridge_billing_period_close_events":     "gauge",   // state: closing|missed
	"konnect_bridge_billing_period_cutoff_seconds":   "gauge",   // 0 when no period is closing
	"konnect_bridge_ready":                           "gauge",   // component: nats|consumer|konnect_auth|konnect_reachable
	"konnect_bridge_build_info":                      "gauge",   // version, revision, goversion
}

var metricName = regexp.MustCompile(`konnect_bridge_[a-z_]+`)

// knownMetric reports whether name is a series the bridge serves: a metric
// in bridgeMetrics or a histogram's _bucket, _sum or _count.
func knownMetric(name string) bool {
	if _, ok := bridgeMetrics[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && bridgeMetrics[base] == "histogram" {
			return true
		}
	}
	return false
}

// baseMetric strips a histogram suffix.
func baseMetric(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && bridgeMetrics[base] == "histogram" {
			return base
		}
	}
	return name
}

func TestMonitoringNamesOnlyBridgeMetrics(t *testing.T) {
	for _, path := range []string{alertsFile, dashboardFile} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricName.FindAllString(string(raw), -1) {
			if !knownMetric(name) {
				t.Errorf("%s names %s, which the bridge does not serve (see bridgeMetrics)", path, name)
			}
		}
	}
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// promDuration is Prometheus's duration syntax: 90s, 10m, 1h30m.
var promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)

func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string      `yaml:"name"`
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}

	seen := map[string]bool{}
	for _, g := range file.Groups {
		if g.Name == "" {
			t.Errorf("a rule group has no name")
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: rule %q is not an alert", g.Name, r.Record)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("%s: defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if strings.TrimSpace(r.Expr) == "" {
				t.Errorf("%s: no expr", r.Alert)
			}
			if !balanced(r.Expr) {
				t.Errorf("%s: unbalanced brackets in expr %q", r.Alert, r.Expr)
			}
			if !promDuration.MatchString(r.For) {
				t.Errorf("%s: for = %q, want a duration such as 5m", r.Alert, r.For)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: labels.severity = %q, want critical or warning", r.Alert, s)
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no annotations.%s to tell the on-call what happened and what to check", r.Alert, a)
				}
			}
		}
	}
	for _, want := range []string{
		"KonnectBridgeDown",
		"KonnectBridgeNotReady",
		"KonnectBridgeKonnectAuthFailing",
		"KonnectBridgeDeliveriesStalled",
		"KonnectBridgeConsumerLagGrowing",
		"KonnectBridgeDeadLetters",
		"KonnectBridgeCoreNATSDrops",
		"KonnectBridgeDeadLettersForged",
		"KonnectBridgeEventsNotInvoiced",
		"KonnectBridgeUsageMissesInvoice",
	} {
		if !seen[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

// balanced reports whether (), [] and {} nest properly in a PromQL
// expression, outside string literals.
func balanced(expr string) bool {
	var stack []rune
	var quote rune
	for _, c := range expr {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case strings.ContainsRune("([{", c):
			stack = append(stack, c)
		case strings.ContainsRune(")]}", c):
			open := map[rune]rune{')': '(', ']': '[', '}': '{'}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && quote == 0
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []struct {
		Datasource *datasourceRef `json:"datasource"`
		Expr       string         `json:"expr"`
		RefID      string         `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

type templateVar struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query any    `json:"query"`
}

func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID        string  `json:"uid"`
		Title      string  `json:"title"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []templateVar `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Errorf("dashboard uid %q, title %q: want both set so provisioning keeps one dashboard", dash.UID, dash.Title)
	}
	hasDatasourceVar := slices.ContainsFunc(dash.Templating.List, func(v templateVar) bool {
		return v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	})
	if !hasDatasourceVar {
		t.Fatalf("no template variable datasource of type datasource over prometheus")
	}

	ids := map[int]string{}
	shown := map[string]bool{}
	var check func(p panel)
	check = func(p panel) {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if p.Type == "row" {
			for _, child := range p.Panels {
				check(child)
			}
			return
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			ds := q.Datasource
			if ds == nil {
				ds = p.Datasource
			}
			if ds == nil || ds.UID != "${datasource}" {
				t.Errorf("panel %q query %s: datasource %+v, want uid ${datasource} so the dashboard imports anywhere", p.Title, q.RefID, ds)
			}
			if strings.TrimSpace(q.Expr) == "" || !balanced(q.Expr) {
				t.Errorf("panel %q query %s: bad expr %q", p.Title, q.RefID, q.Expr)
			}
			for _, name := range metricName.FindAllString(q.Expr, -1) {
				shown[baseMetric(name)] = true
			}
		}
	}
	for _, p := range dash.Panels {
		check(p)
	}
	for name := range bridgeMetrics {
		if !shown[name] {
			t.Errorf("the dashboard shows no panel over %s", name)
		}
	}
}
