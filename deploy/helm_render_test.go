package deploy_test

import (
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/strvals"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "helm/konnect-bridge"

// The release every test installs: helm install billing ./deploy/helm/konnect-bridge -n metering.
const (
	releaseName = "billing"
	fullname    = "billing-konnect-bridge"
)

var loadChart = sync.OnceValues(func() (*chart.Chart, error) { return loader.Load(chartDir) })

// rendered is a chart rendered as helm install would, its objects by kind.
type rendered struct {
	Deployment  *appsv1.Deployment
	Service     *corev1.Service
	PDB         *policyv1.PodDisruptionBudget
	Custom      map[string]map[string]any // ServiceMonitor, PrometheusRule, ScaledObject
	Kinds       []string
	rawManifest string
}

// render renders the chart with Helm's own engine (strict: a template that
// reads a value the chart does not define fails), with values given as
// `helm install --set` takes them. Core objects are decoded strictly into
// the Kubernetes API types, so a misspelt field fails the test.
func render(t *testing.T, set ...string) (*rendered, error) {
	t.Helper()
	chrt, err := loadChart()
	if err != nil {
		t.Fatalf("load %s: %v", chartDir, err)
	}
	values := map[string]any{}
	for _, s := range set {
		if err := strvals.ParseInto(s, values); err != nil {
			t.Fatalf("--set %s: %v", s, err)
		}
	}
	top, err := chartutil.ToRenderValues(chrt, values,
		chartutil.ReleaseOptions{Name: releaseName, Namespace: "metering", IsInstall: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Engine{Strict: true}.Render(chrt, top)
	if err != nil {
		return nil, err
	}
	out := &rendered{Custom: map[string]map[string]any{}}
	for name, content := range files {
		if !strings.HasSuffix(name, ".yaml") || strings.TrimSpace(content) == "" {
			continue
		}
		out.rawManifest += "---\n" + content
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(content), &meta); err != nil {
			t.Fatalf("%s is not YAML: %v\n%s", name, err, content)
		}
		out.Kinds = append(out.Kinds, meta.Kind)
		var target any
		switch meta.Kind {
		case "Deployment":
			out.Deployment = &appsv1.Deployment{}
			target = out.Deployment
		case "Service":
			out.Service = &corev1.Service{}
			target = out.Service
		case "PodDisruptionBudget":
			out.PDB = &policyv1.PodDisruptionBudget{}
			target = out.PDB
		default:
			obj := map[string]any{}
			out.Custom[meta.Kind] = obj
			target = &obj
		}
		if err := yaml.UnmarshalStrict([]byte(content), target); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, content)
		}
	}
	return out, nil
}

// mustRender renders values that must be accepted.
func mustRender(t *testing.T, set ...string) *rendered {
	t.Helper()
	r, err := render(t, set...)
	if err != nil {
		t.Fatalf("helm install --set %s: %v", strings.Join(set, ","), err)
	}
	if r.Deployment == nil {
		t.Fatalf("no Deployment rendered; kinds %v", r.Kinds)
	}
	return r
}

// container is the bridge's container.
func (r *rendered) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := r.Deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers, want the bridge alone", len(cs))
	}
	return cs[0]
}

// env is the bridge container's environment by name.
func (r *rendered) env(t *testing.T) map[string]corev1.EnvVar {
	t.Helper()
	out := map[string]corev1.EnvVar{}
	for _, e := range r.container(t).Env {
		if _, dup := out[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		out[e.Name] = e
	}
	return out
}

// dig reads a nested field of a custom object: dig(obj, "spec", "triggers").
func dig(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}
