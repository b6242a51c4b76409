package deploy_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	repoRoot    = ".."
	composeFile = "../docker-compose.yml"
)

// loadCompose loads docker-compose.yml the way `docker compose` does, with
// env as the only environment: neither the test's own environment nor a
// developer's .env file (which may hold a real token) leaks in.
func loadCompose(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithName("konnect-bridge"),
		cli.WithWorkingDirectory(repoRoot),
		cli.WithEnv(environ),
		cli.WithProfiles(profiles),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	project, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("load %s: %v", composeFile, err)
	}
	return project
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v", name, err)
	}
	return s
}

func TestComposeNATSHasJetStreamOnAVolume(t *testing.T) {
	p := loadCompose(t, nil)
	nats := service(t, p, "nats")

	if !slices.Contains(nats.Command, "--jetstream") && !slices.Contains(nats.Command, "-js") {
		t.Errorf("nats command %q does not enable JetStream", nats.Command)
	}
	storeDir := flagValue(nats.Command, "--store_dir", "-sd")
	if storeDir == "" {
		t.Fatalf("nats command %q sets no --store_dir", nats.Command)
	}
	var onVolume bool
	for _, v := range nats.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Target == storeDir {
			if _, declared := p.Volumes[v.Source]; !declared {
				t.Errorf("nats mounts volume %q, which is not declared under volumes:", v.Source)
			}
			onVolume = true
		}
	}
	if !onVolume {
		t.Errorf("JetStream store dir %q is not on a named volume: streams are lost with the container", storeDir)
	}
	if nats.HealthCheck == nil || len(nats.HealthCheck.Test) == 0 || nats.HealthCheck.Disable {
		t.Errorf("nats has no healthcheck; bridge cannot wait for service_healthy")
	}
}

func TestComposeBridgeWiring(t *testing.T) {
	p := loadCompose(t, nil)
	bridge := service(t, p, "bridge")

	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if bridge.Build == nil || bridge.Build.Context != root {
		t.Errorf("bridge build = %+v, want context %s (the repository root)", bridge.Build, root)
	}
	if got := env(bridge, "NATS_URL"); got != "nats://nats:4222" {
		t.Errorf("bridge NATS_URL = %q, want nats://nats:4222 (the nats service)", got)
	}
	if got := env(bridge, "BRIDGE_SANDBOX"); got != "true" {
		t.Errorf("bridge BRIDGE_SANDBOX = %q, want true: without a token the stack must still run", got)
	}
	if got := env(bridge, "BRIDGE_HTTP_ADDR"); got != "0.0.0.0:8080" {
		t.Errorf("bridge BRIDGE_HTTP_ADDR = %q, want 0.0.0.0:8080: the default 127.0.0.1 is unreachable from outside the container", got)
	}
	if dep, ok := bridge.DependsOn["nats"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("bridge depends_on nats = %+v, want condition %s", dep, types.ServiceConditionHealthy)
	}
	hc := bridge.HealthCheck
	if hc == nil || hc.Disable || !slices.Equal(hc.Test, []string{"CMD", "/bridge", "health"}) {
		t.Errorf("bridge healthcheck = %+v, want test [CMD /bridge health]", hc)
	}
	var published bool
	for _, port := range bridge.Ports {
		if port.Target == 8080 {
			published = true
			if port.HostIP != "127.0.0.1" {
				t.Errorf("admin port published on %q, want 127.0.0.1: /sandbox and /metrics are not for the network", port.HostIP)
			}
		}
	}
	if !published {
		t.Errorf("bridge does not publish the admin port 8080")
	}
	if bridge.Restart != types.RestartPolicyUnlessStopped {
		t.Errorf("bridge restart = %q, want %s", bridge.Restart, types.RestartPolicyUnlessStopped)
	}
	if bridge.StopGracePeriod == nil {
		t.Errorf("bridge has no stop_grace_period to finish its batch in flight")
	}
}

func TestComposeKonnectSettingsComeFromTheEnvironment(t *testing.T) {
	const token = "token-from-the-environment"
	const url = "https://eu.api.konghq.com/v3/openmeter/events"
	tests := map[string]struct {
		env  map[string]string
		want map[string]*string // nil: not set in the container
	}{
		"nothing set": {
			env:  nil,
			want: map[string]*string{"KONNECT_TOKEN": ptr(""), "KONNECT_URL": nil, "KONNECT_REGION": nil},
		},
		"token set": {
			env:  map[string]string{"KONNECT_TOKEN": token},
			want: map[string]*string{"KONNECT_TOKEN": ptr(token), "KONNECT_URL": nil, "KONNECT_REGION": nil},
		},
		"token, url and region set": {
			env:  map[string]string{"KONNECT_TOKEN": token, "KONNECT_URL": url, "KONNECT_REGION": "eu"},
			want: map[string]*string{"KONNECT_TOKEN": ptr(token), "KONNECT_URL": ptr(url), "KONNECT_REGION": ptr("eu")},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bridge := service(t, loadCompose(t, tc.env), "bridge")
			for key, want := range tc.want {
				got := bridge.Environment[key]
				switch {
				case want == nil && got != nil:
					t.Errorf("%s = %s, want it unset so the bridge's default applies", key, display(key, got))
				case want != nil && (got == nil || *got != *want):
					t.Errorf("%s = %s, want %s", key, display(key, got), display(key, want))
				}
			}
		})
	}
}

func TestComposeDemoProfile(t *testing.T) {
	if p := loadCompose(t, nil); slices.Contains(p.ServiceNames(), "demo") {
		t.Errorf("demo runs on a plain `docker compose up`; it belongs to profile demo only")
	}
	demo := service(t, loadCompose(t, nil, "demo"), "demo")
	if !slices.Equal(demo.Profiles, []string{"demo"}) {
		t.Errorf("demo profiles = %q, want [demo]", demo.Profiles)
	}
	if !slices.Equal(demo.Command, []string{"emit", "--guide"}) {
		t.Errorf("demo command = %q, want [emit --guide]", demo.Command)
	}
	if got := env(demo, "NATS_URL"); got != "nats://nats:4222" {
		t.Errorf("demo NATS_URL = %q, want nats://nats:4222", got)
	}
	if dep, ok := demo.DependsOn["bridge"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("demo depends_on bridge = %+v, want condition %s", dep, types.ServiceConditionHealthy)
	}
	bridge := service(t, loadCompose(t, nil), "bridge")
	if demo.Image != bridge.Image || demo.Build == nil || demo.Build.Context != bridge.Build.Context {
		t.Errorf("demo image %q / build %+v, want the bridge's image %q built from the same context", demo.Image, demo.Build, bridge.Image)
	}
}

func env(s types.ServiceConfig, key string) string {
	return deref(s.Environment[key])
}

func flagValue(args []string, names ...string) string {
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v
			}
		}
	}
	return ""
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}
