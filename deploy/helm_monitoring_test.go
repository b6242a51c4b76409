package deploy_test

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// The chart's copy of the alert rules, which .Files.Get can read (a chart
// sees only its own directory).
const chartAlertsFile = chartDir + "/files/alerts.yml"

func TestChartAlertRulesAreTheDeployOnes(t *testing.T) {
	ours, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(chartAlertsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, copied) {
		t.Fatalf("%s differs from %s: alerts.yml is the one source; copy it: cp deploy/%s deploy/%s", chartAlertsFile, alertsFile, alertsFile, chartAlertsFile)
	}
}

func TestChartServiceMonitor(t *testing.T) {
	r := mustRender(t, with("metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=kube-prometheus-stack")...)
	sm := r.Custom["ServiceMonitor"]
	if sm == nil {
		t.Fatalf("no ServiceMonitor; kinds %v", r.Kinds)
	}
	if got := dig(sm, "metadata", "labels", "release"); got != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor label release %v, want the one given (Prometheus selects on it)", got)
	}
	sel := labels.Set{}
	for k, v := range dig(sm, "spec", "selector", "matchLabels").(map[string]any) {
		sel[k] = v.(string)
	}
	if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(labels.Set(r.Service.Labels)) {
		t.Errorf("the ServiceMonitor selector %v does not select the Service %v", sel, r.Service.Labels)
	}
	endpoints, _ := dig(sm, "spec", "endpoints").([]any)
	if len(endpoints) != 1 {
		t.Fatalf("endpoints %v, want one", endpoints)
	}
	ep := endpoints[0].(map[string]any)
	if ep["port"] != r.Service.Spec.Ports[0].Name || ep["path"] != "/metrics" {
		t.Errorf("endpoint %v, want port %s path /metrics", ep, r.Service.Spec.Ports[0].Name)
	}
	// The alert rules select job="konnect-bridge": the job label is taken
	// from the Service's label named by jobLabel.
	jobLabel, _ := dig(sm, "spec", "jobLabel").(string)
	if job := r.Service.Labels[jobLabel]; job != "konnect-bridge" {
		t.Errorf("scraped as job %q (Service label %q), want konnect-bridge as alerts.yml expects", job, jobLabel)
	}
}

func TestChartPrometheusRule(t *testing.T) {
	r := mustRender(t, with("metrics.prometheusRule.enabled=true")...)
	rule := r.Custom["PrometheusRule"]
	if rule == nil {
		t.Fatalf("no PrometheusRule; kinds %v", r.Kinds)
	}
	raw, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if got := dig(rule, "spec", "groups"); !reflect.DeepEqual(got, want["groups"]) {
		t.Errorf("the PrometheusRule's groups differ from %s:\n%s", alertsFile, r.rawManifest)
	}
}

func TestChartScaledObject(t *testing.T) {
	r := mustRender(t, with(
		"autoscaling.enabled=true",
		"autoscaling.natsServerMonitoringEndpoint=nats.nats.svc:8222",
		"bridge.stream=USAGE", "bridge.consumer=billing",
	)...)
	so := r.Custom["ScaledObject"]
	if so == nil {
		t.Fatalf("no ScaledObject; kinds %v", r.Kinds)
	}
	if r.Deployment.Spec.Replicas != nil {
		t.Errorf("the Deployment sets replicas %d under KEDA: every upgrade would reset the scale", *r.Deployment.Spec.Replicas)
	}
	if got := dig(so, "spec", "scaleTargetRef", "name"); got != r.Deployment.Name {
		t.Errorf("scaleTargetRef %v, want the Deployment %s", got, r.Deployment.Name)
	}
	triggers, _ := dig(so, "spec", "triggers").([]any)
	if len(triggers) != 1 {
		t.Fatalf("triggers %v, want one", triggers)
	}
	trig := triggers[0].(map[string]any)
	meta, _ := trig["metadata"].(map[string]any)
	env := r.env(t)
	for key, want := range map[string]string{
		"stream":                       env["BRIDGE_STREAM"].Value,
		"consumer":                     env["BRIDGE_CONSUMER"].Value,
		"natsServerMonitoringEndpoint": "nats.nats.svc:8222",
		"account":                      "$G",
		"lagThreshold":                 "10000",
	} {
		if meta[key] != want {
			t.Errorf("trigger metadata %s = %v, want %q", key, meta[key], want)
		}
	}
	if env["BRIDGE_STREAM"].Value != "USAGE" || env["BRIDGE_CONSUMER"].Value != "billing" {
		t.Errorf("the bridge reads %s/%s, want USAGE/billing", env["BRIDGE_STREAM"].Value, env["BRIDGE_CONSUMER"].Value)
	}
	// KEDA's nats-jetstream scaler counts num_pending + num_ack_pending.
	if trig["type"] != "nats-jetstream" {
		t.Errorf("trigger type %v, want nats-jetstream", trig["type"])
	}
}
