package deploy_test

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
)

// installable are the least values a real install gives: where NATS is and
// the Secret with the Konnect token.
var installable = []string{"nats.url=nats://nats.nats.svc:4222", "konnect.existingSecret=konnect-token"}

func with(set ...string) []string { return append(slices.Clone(installable), set...) }

func TestChartRefusesIncompleteValues(t *testing.T) {
	for name, tc := range map[string]struct {
		set  []string
		want string
	}{
		"no Secret name":                      {set: []string{"nats.url=nats://nats:4222"}, want: "konnect.existingSecret is required"},
		"no NATS URL":                         {set: []string{"konnect.existingSecret=konnect-token"}, want: "nats.url is required"},
		"sandbox and a Secret":                {set: with("sandbox=true"), want: "choose one"},
		"autoscaling without NATS monitoring": {set: with("autoscaling.enabled=true"), want: "autoscaling.natsServerMonitoringEndpoint is required"},
		"no shutdown margin":                  {set: with("bridge.terminationMarginSeconds=0"), want: "bridge.terminationMarginSeconds must be positive"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := render(t, tc.set...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("render error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestChartDefaults(t *testing.T) {
	r := mustRender(t, installable...)
	d, c, env := r.Deployment, r.container(t), r.env(t)

	if got := *d.Spec.Replicas; got < 2 {
		t.Errorf("replicas %d, want at least 2 sharing the durable", got)
	}
	if got := env["BRIDGE_CONSUMER"].Value; got != "konnect-bridge" {
		t.Errorf("BRIDGE_CONSUMER %q, want the one durable every replica shares", got)
	}
	for _, kind := range []string{"Secret", "ServiceMonitor", "PrometheusRule", "ScaledObject"} {
		if slices.Contains(r.Kinds, kind) {
			t.Errorf("the default install renders a %s", kind)
		}
	}

	// The token: a reference to the existing Secret, never a value.
	tok := env["KONNECT_TOKEN"]
	if tok.Value != "" || tok.ValueFrom == nil || tok.ValueFrom.SecretKeyRef == nil {
		t.Fatalf("KONNECT_TOKEN = %+v, want a secretKeyRef", tok)
	}
	if ref := tok.ValueFrom.SecretKeyRef; ref.Name != "konnect-token" || ref.Key != "token" {
		t.Errorf("KONNECT_TOKEN from secret %q key %q, want konnect-token/token", ref.Name, ref.Key)
	}
	if _, ok := env["BRIDGE_SANDBOX"]; ok {
		t.Errorf("BRIDGE_SANDBOX set without sandbox=true")
	}

	// Probes on the admin server, which must listen beyond loopback.
	if got := env["BRIDGE_HTTP_ADDR"].Value; got != "0.0.0.0:8080" {
		t.Errorf("BRIDGE_HTTP_ADDR %q, want 0.0.0.0:8080 so the kubelet reaches the probes", got)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports %+v, want http on 8080", c.Ports)
	}
	for probe, want := range map[string]string{"liveness": "/healthz", "readiness": "/readyz"} {
		p := c.LivenessProbe
		if probe == "readiness" {
			p = c.ReadinessProbe
		}
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %s, want GET %s on port http", probe, p.String(), want)
		}
	}
	if s := d.Spec.Strategy.RollingUpdate; s == nil || s.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v, want maxUnavailable 0: a replica that is not ready must not replace one that delivers", s)
	}

	checkGracePeriod(t, r, 15)
	checkLocksDown(t, r)
	checkSizedFromBenchmarks(t, r)

	// The PDB and the Service select the pods.
	pods := labels.Set(d.Spec.Template.Labels)
	if r.PDB == nil || r.PDB.Spec.MaxUnavailable == nil || r.PDB.Spec.MaxUnavailable.IntValue() != 1 {
		t.Fatalf("PodDisruptionBudget %+v, want maxUnavailable 1", r.PDB)
	}
	if sel := labels.SelectorFromSet(r.PDB.Spec.Selector.MatchLabels); !sel.Matches(pods) || len(r.PDB.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("the PDB selector %v does not select the pods %v", sel, pods)
	}
	if r.Service == nil || !labels.SelectorFromSet(r.Service.Spec.Selector).Matches(pods) {
		t.Errorf("the Service does not select the pods")
	}
}

// checkGracePeriod: Kubernetes waits longer than the bridge's own
// shutdown deadline, both derived from bridge.shutdownTimeoutSeconds.
func checkGracePeriod(t *testing.T, r *rendered, shutdownSeconds int) {
	t.Helper()
	timeout, err := time.ParseDuration(r.env(t)["BRIDGE_SHUTDOWN_TIMEOUT"].Value)
	if err != nil {
		t.Fatalf("BRIDGE_SHUTDOWN_TIMEOUT: %v", err)
	}
	if timeout != time.Duration(shutdownSeconds)*time.Second {
		t.Errorf("BRIDGE_SHUTDOWN_TIMEOUT %s, want %ds", timeout, shutdownSeconds)
	}
	grace := r.Deployment.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	if time.Duration(*grace)*time.Second < timeout+5*time.Second {
		t.Errorf("terminationGracePeriodSeconds %d, want at least BRIDGE_SHUTDOWN_TIMEOUT (%s) + 5s", *grace, timeout)
	}
}

// checkLocksDown: non-root, read-only root, no escalation, no capabilities,
// no API token in the pod.
func checkLocksDown(t *testing.T, r *rendered) {
	t.Helper()
	pod := r.Deployment.Spec.Template.Spec
	if p := pod.SecurityContext; p == nil || p.RunAsNonRoot == nil || !*p.RunAsNonRoot || p.RunAsUser == nil || *p.RunAsUser == 0 {
		t.Errorf("pod security context %+v, want runAsNonRoot with a non-zero user", p)
	}
	sc := r.container(t).SecurityContext
	if sc == nil {
		t.Fatal("no container security context")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("allowPrivilegeEscalation is not false")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v, want drop ALL and add none", sc.Capabilities)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken is not false: the bridge never calls the Kubernetes API")
	}
}

// checkSizedFromBenchmarks: the memory request covers the peak RSS that
// docs/BENCHMARKS.md measured over a 1,000,000-event backlog, and the
// limit is above it; GOMEMLIMIT is left to the bridge.
func checkSizedFromBenchmarks(t *testing.T, r *rendered) {
	t.Helper()
	raw, err := os.ReadFile("../docs/BENCHMARKS.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`backlog peak RSS\s+([0-9.]+) MiB`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("docs/BENCHMARKS.md has no 'backlog peak RSS' line: the chart's requests are sized from it")
	}
	mib, _ := strconv.ParseFloat(string(m[1]), 64)
	peak := int64(mib * (1 << 20))
	res := r.container(t).Resources
	req, lim := res.Requests.Memory(), res.Limits.Memory()
	if req.Value() < peak {
		t.Errorf("memory request %s is below the measured peak RSS %.1f MiB", req, mib)
	}
	if lim.IsZero() || lim.Cmp(*req) <= 0 {
		t.Errorf("memory limit %s, want one above the request %s", lim, req)
	}
	if res.Requests.Cpu().Cmp(resource.MustParse("50m")) < 0 {
		t.Errorf("cpu request %s, want at least 50m", res.Requests.Cpu())
	}
	if _, set := r.env(t)["GOMEMLIMIT"]; set {
		t.Error("GOMEMLIMIT is set: at the memory limit it would override the bridge's own soft limit, derived from its settings well below the limit")
	}
}

func TestChartOptions(t *testing.T) {
	t.Run("grace period follows the shutdown timeout", func(t *testing.T) {
		checkGracePeriod(t, mustRender(t, with("bridge.shutdownTimeoutSeconds=40")...), 40)
	})
	t.Run("priority policy", func(t *testing.T) {
		if env := mustRender(t, installable...).env(t); env["BRIDGE_PRIORITY_POLICY"].Value != "none" {
			t.Errorf("BRIDGE_PRIORITY_POLICY %q by default, want none", env["BRIDGE_PRIORITY_POLICY"].Value)
		}
		env := mustRender(t, with("bridge.priority.policy=overflow", "bridge.priority.overflowMinPending=5000", "bridge.priority.group=eu-bridges")...).env(t)
		for name, want := range map[string]string{"BRIDGE_PRIORITY_POLICY": "overflow", "BRIDGE_OVERFLOW_MIN_PENDING": "5000", "BRIDGE_PRIORITY_GROUP": "eu-bridges", "BRIDGE_PINNED_TTL": "15s"} {
			if got := env[name].Value; got != want {
				t.Errorf("%s %q, want %q", name, got, want)
			}
		}
	})
	t.Run("sandbox", func(t *testing.T) {
		env := mustRender(t, "nats.url=nats://nats:4222", "sandbox=true").env(t)
		if env["BRIDGE_SANDBOX"].Value != "true" {
			t.Errorf("BRIDGE_SANDBOX %q, want true", env["BRIDGE_SANDBOX"].Value)
		}
		for _, name := range []string{"KONNECT_TOKEN", "KONNECT_REGION", "KONNECT_URL"} {
			if _, ok := env[name]; ok {
				t.Errorf("%s set in sandbox mode: the bridge would deliver to Konnect", name)
			}
		}
	})
	t.Run("region, url, secret key", func(t *testing.T) {
		env := mustRender(t, with("konnect.region=eu", "konnect.secretKey=spat")...).env(t)
		if env["KONNECT_REGION"].Value != "eu" || env["KONNECT_TOKEN"].ValueFrom.SecretKeyRef.Key != "spat" {
			t.Errorf("KONNECT_REGION %+v, KONNECT_TOKEN %+v", env["KONNECT_REGION"], env["KONNECT_TOKEN"])
		}
		env = mustRender(t, with("konnect.region=eu", "konnect.url=https://meter.example.invalid/api/v1/events")...).env(t)
		if _, both := env["KONNECT_REGION"]; both || env["KONNECT_URL"].Value == "" {
			t.Errorf("with a url: KONNECT_URL %q and KONNECT_REGION %+v, want the url alone (the bridge refuses both)", env["KONNECT_URL"].Value, env["KONNECT_REGION"])
		}
	})
	t.Run("NATS credentials from a Secret", func(t *testing.T) {
		r := mustRender(t, with("nats.credsSecret=bridge-nats")...)
		path := r.env(t)["NATS_CREDS"].Value
		c, pod := r.container(t), r.Deployment.Spec.Template.Spec
		if len(c.VolumeMounts) != 1 || !strings.HasPrefix(path, c.VolumeMounts[0].MountPath+"/") || !c.VolumeMounts[0].ReadOnly {
			t.Errorf("NATS_CREDS %q, mounts %+v: want the file inside a read-only mount", path, c.VolumeMounts)
		}
		if len(pod.Volumes) != 1 || pod.Volumes[0].Secret == nil || pod.Volumes[0].Secret.SecretName != "bridge-nats" {
			t.Errorf("volumes %+v, want the Secret bridge-nats", pod.Volumes)
		}
	})
	t.Run("admin token from a Secret", func(t *testing.T) {
		if _, ok := mustRender(t, with()...).env(t)["BRIDGE_ADMIN_TOKEN"]; ok {
			t.Error("BRIDGE_ADMIN_TOKEN set without admin.existingSecret")
		}
		ref := mustRender(t, with("admin.existingSecret=bridge-admin")...).env(t)["BRIDGE_ADMIN_TOKEN"].ValueFrom
		if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "bridge-admin" || ref.SecretKeyRef.Key != "token" {
			t.Errorf("BRIDGE_ADMIN_TOKEN from %+v, want the Secret bridge-admin, key token", ref)
		}
	})
	t.Run("extra environment", func(t *testing.T) {
		env := mustRender(t, with("extraEnv[0].name=BRIDGE_BATCH_SIZE", "extraEnv[0].value=250")...).env(t)
		if env["BRIDGE_BATCH_SIZE"].Value != "250" {
			t.Errorf("BRIDGE_BATCH_SIZE %+v, want 250", env["BRIDGE_BATCH_SIZE"])
		}
	})
	t.Run("no PDB", func(t *testing.T) {
		if r := mustRender(t, with("podDisruptionBudget.enabled=false")...); r.PDB != nil {
			t.Errorf("a PDB was rendered")
		}
	})
}
