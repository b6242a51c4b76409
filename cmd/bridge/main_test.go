package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// bridgeCmd runs the command line as a user would, with the given
// environment, and returns its exit code and what it printed.
func bridgeCmd(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out bytes.Buffer
	code := run(args, &out, &out)
	return code, out.String()
}

func TestRefusesBadConfigurationNamingTheSetting(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		args []string
		want []string
	}{
		"dead letters inside the consumed subjects": {
			env:  map[string]string{"BRIDGE_DLQ_SUBJECT": "agent.runs.dlq"},
			want: []string{`BRIDGE_DLQ_SUBJECT "agent.runs.dlq" is inside the consumed subjects "agent.runs.>"`},
		},
		"NATS without a Konnect token": {
			env:  map[string]string{"NATS_URL": "nats://127.0.0.1:1"},
			want: []string{"KONNECT_TOKEN is empty while NATS_URL is set", "--sandbox"},
		},
		"unknown region": {
			env:  map[string]string{"KONNECT_REGION": "mars", "KONNECT_TOKEN": "spat_secret_value"},
			want: []string{`KONNECT_REGION "mars"`, "us, eu, au, me, in, sg"},
		},
		"a flag that is not a number": {
			args: []string{"--batch-size", "many"},
			want: []string{"batch-size", "not a whole number"},
		},
		"an environment variable that is not a duration": {
			env:  map[string]string{"BRIDGE_LINGER": "fast"},
			want: []string{"BRIDGE_LINGER", "not a duration"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out := bridgeCmd(t, tc.env, tc.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2; output:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "spat_secret_value") {
				t.Errorf("output shows the token:\n%s", out)
			}
		})
	}
}

func TestCheckSaysWhatIsRightAndWhatToFix(t *testing.T) {
	ns := testkit.NATS(t)
	konnect := testkit.NewKonnect(t, sandbox.WithToken("spat_good"))
	env := map[string]string{"NATS_URL": ns.ClientURL(), "KONNECT_URL": konnect.URL}

	env["KONNECT_TOKEN"] = "spat_expired"
	code, out := bridgeCmd(t, env, "check")
	if code != 1 {
		t.Errorf("check with a refused token: exit %d, want 1:\n%s", code, out)
	}
	for _, w := range []string{"ok    NATS reachable", "stream AGENT_RUNS is missing; the bridge creates it", "FAIL  Konnect", "KONNECT_TOKEN is missing, wrong or expired"} {
		if !strings.Contains(out, w) {
			t.Errorf("check output does not say %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "spat_expired") {
		t.Errorf("check output shows the token:\n%s", out)
	}

	env["KONNECT_TOKEN"] = "spat_good"
	code, out = bridgeCmd(t, env, "check")
	if code != 0 || !strings.Contains(out, "all checks passed") {
		t.Errorf("check with a good token: exit %d:\n%s", code, out)
	}
	if n := len(konnect.Events()); n != 0 {
		t.Errorf("check ingested %d events, want none", n)
	}
}

func TestEmitPublishesTheGuidesRunsToTheStream(t *testing.T) {
	ns := testkit.NATS(t)
	_, js := testkit.Connect(t, ns.ClientURL())
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "AGENT_RUNS", Subjects: []string{"agent.runs.>"}}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"NATS_URL": ns.ClientURL()}
	for _, args := range [][]string{{"emit", "--guide"}, {"emit", "--binary", "--no-id", "--agent", "translator"}} {
		if code, out := bridgeCmd(t, env, args...); code != 0 {
			t.Fatalf("%v: exit %d:\n%s", args, code, out)
		}
	}
	s, err := js.Stream(ctx, "AGENT_RUNS")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().State.Msgs; got != 4 {
		t.Fatalf("stream holds %d messages, want the guide's 3 and 1 binary", got)
	}
	first, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(first.Data, []byte(testkit.Guide()[0].ID)) || !bytes.Contains(first.Data, []byte(`"subject":"acme-inc"`)) {
		t.Errorf("first guide run is %s", first.Data)
	}
	last, err := s.GetMsg(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if last.Header.Get("ce-type") != "agent_run" || last.Header.Get("ce-id") != "" || string(last.Data) != `{"agent_name":"translator"}` {
		t.Errorf("binary run: headers %v, payload %s", last.Header, last.Data)
	}
}

func TestHealthAsksTheRunningBridge(t *testing.T) {
	ns := testkit.NATS(t)
	konnect := testkit.NewKonnect(t)
	b := testkit.StartBridge(t, testkit.Config(ns.ClientURL(), konnect.URL))
	env := map[string]string{"BRIDGE_HTTP_ADDR": b.AdminAddr}
	testkit.Eventually(t, 10*time.Second, func() bool {
		code, _ := bridgeCmd(t, env, "health", "--ready")
		return code == 0
	}, "bridge health --ready never succeeded")
	if code, out := bridgeCmd(t, env, "health"); code != 0 {
		t.Errorf("bridge health: exit %d:\n%s", code, out)
	}
	b.Stop(t)
	if code, _ := bridgeCmd(t, env, "health"); code != 1 {
		t.Errorf("bridge health with the bridge stopped: exit %d, want 1", code)
	}
}
