package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/bridge"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
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
	konnect := testkit.NewKonnect(t, sandbox.WithToken("spat_good"), sandbox.WithGuide())
	env := map[string]string{"NATS_URL": ns.ClientURL(), "KONNECT_URL": konnect.URL}

	env["KONNECT_TOKEN"] = "spat_expired"
	code, out := bridgeCmd(t, env, "check")
	if code != 1 {
		t.Errorf("check with a refused token: exit %d, want 1:\n%s", code, out)
	}
	for _, w := range []string{"ok    NATS reachable", "ok    JetStream enabled", "stream AGENT_RUNS is missing; the bridge creates it", "FAIL  Konnect", "KONNECT_TOKEN is missing, wrong or expired"} {
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

	// The mapping compiles as at start: its rules are named, a mistake fails.
	rules := filepath.Join(t.TempDir(), "mapping.yaml")
	if err := os.WriteFile(rules, []byte(testRules), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = bridgeCmd(t, env, "check", "--mapping", rules)
	if want := "ok    mapping " + rules + ": 2 rule(s), on agent.runs.raw.>, llm.usage"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("check with a mapping: exit %d, want 0 saying %q:\n%s", code, want, out)
	}
	if err := os.WriteFile(rules, []byte(strings.Replace(testRules, "msg.model", "msg.model +", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = bridgeCmd(t, env, "check", "--mapping", rules)
	if want := "FAIL  mapping " + rules + `: rule 2 (subject "llm.usage"): data: Syntax error`; code != 1 || !strings.Contains(out, want) {
		t.Errorf("check with a mapping that does not compile: exit %d, want 1 saying %q:\n%s", code, want, out)
	}
	if n := len(konnect.Events()); n != 0 {
		t.Errorf("check ingested %d events, want none", n)
	}

	// An R1 file stream may lose acknowledged events in a crash: check
	// warns, naming the fix, and still passes (a laptop runs R1).
	_, js := testkit.Connect(t, ns.ClientURL())
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "AGENT_RUNS", Subjects: []string{"agent.runs.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	code, out = bridgeCmd(t, env, "check")
	if code != 0 || !strings.Contains(out, "WARN  stream AGENT_RUNS has 1 replica(s) on file storage") || !strings.Contains(out, "sync_interval: always") {
		t.Errorf("check on an R1 file stream: exit %d, want 0 with a warning naming replicas and sync_interval:\n%s", code, out)
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
	// A run for no one is refused before anything is published.
	if code, out := bridgeCmd(t, env, "emit", "--customer", " "); code != 1 || !strings.Contains(out, "--customer is empty: the run would bill no one") || strings.Contains(out, "published") {
		t.Errorf("emit --customer \" \": exit %d, want 1 saying why, nothing published:\n%s", code, out)
	}
	// So is one Konnect would refuse for another reason.
	if code, out := bridgeCmd(t, env, "emit", "--source", ""); code != 1 || !strings.Contains(out, "Konnect would refuse this run") || !strings.Contains(out, "source: required") || strings.Contains(out, "published") {
		t.Errorf("emit --source \"\": exit %d, want 1 saying why, nothing published:\n%s", code, out)
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

// deadLetters makes a NATS server whose dead-letter stream holds three dead
// letters, with the consumed stream empty, as `bridge dlq` finds them after
// the producer was fixed.
func deadLetters(t *testing.T) (env map[string]string, js jetstream.JetStream) {
	t.Helper()
	ns := testkit.NATS(t)
	_, js = testkit.Connect(t, ns.ClientURL())
	ctx := context.Background()
	for _, sc := range []jetstream.StreamConfig{
		{Name: "AGENT_RUNS", Subjects: []string{"agent.runs.>"}},
		{Name: "AGENT_RUNS_DLQ", Subjects: []string{"dlq.agent.runs"}},
	} {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		msg := nats.NewMsg("dlq.agent.runs")
		msg.Header.Set(deadletter.HeaderSubject, "agent.runs.acme")
		msg.Header.Set(deadletter.HeaderStream, "AGENT_RUNS")
		msg.Header.Set(deadletter.HeaderSequence, strconv.Itoa(i))
		msg.Header.Set(deadletter.HeaderKind, "invalid")
		msg.Header.Set(deadletter.HeaderReason, "subject must not be empty")
		msg.Data = fmt.Appendf(nil, `{"dead letter":%d}`, i)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"NATS_URL": ns.ClientURL()}, js
}

// streamData lists the payloads a stream holds, oldest first.
func streamData(t *testing.T, js jetstream.JetStream, stream string) []string {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // replayed and removed
		}
		out = append(out, string(m.Data))
	}
	return out
}

// TestDLQFlagsWorkOnEitherSideOfTheAction: `bridge dlq replay --seq 2`
// replays dead letter 2 only, as `bridge dlq --seq 2 replay` does; a word
// the command does not understand is refused, and nothing is replayed.
func TestDLQFlagsWorkOnEitherSideOfTheAction(t *testing.T) {
	all := []string{`{"dead letter":1}`, `{"dead letter":2}`, `{"dead letter":3}`}
	tests := map[string]struct {
		args     []string
		code     int
		says     []string
		replayed []string
	}{
		// Dead letters of a bridge from before seals: replayed when asked.
		"flags after replay":  {args: []string{"dlq", "replay", "--seq", "2", "--unverified"}, says: []string{"replayed 0, stored 1, kept 0, refused 0"}, replayed: all[1:2]},
		"flags before replay": {args: []string{"dlq", "--seq", "2", "--unverified", "replay"}, says: []string{"replayed 0, stored 1, kept 0, refused 0"}, replayed: all[1:2]},
		"--seq=N after":       {args: []string{"dlq", "--unverified", "replay", "--seq=3"}, says: []string{"replayed 0, stored 1, kept 0, refused 0"}, replayed: all[2:3]},
		"every dead letter":   {args: []string{"dlq", "replay", "--unverified"}, says: []string{"replayed 0, stored 3, kept 0, refused 0"}, replayed: all},
		"unsealed, not asked": {args: []string{"dlq", "replay"}, code: 1, says: []string{"refused: not checked", "--unverified", "replayed 0, stored 0, kept 0, refused 3"}},
		"list with --data after": {
			args: []string{"dlq", "list", "--data"},
			says: []string{"subject must not be empty", `{"dead letter":2}`, "3 dead letter(s) in AGENT_RUNS_DLQ"},
		},
		"flags on both sides of list": {
			args: []string{"dlq", "--seq", "2", "list", "--data"},
			says: []string{`{"dead letter":2}`, "1 dead letter(s) in AGENT_RUNS_DLQ"},
		},
		"a sequence without --seq": {args: []string{"dlq", "replay", "2"}, code: 1, says: []string{`say "dlq list" or "dlq replay [--seq N]"`, "not understood"}},
		"two actions":              {args: []string{"dlq", "list", "replay"}, code: 1, says: []string{"not understood"}},
		"no action":                {args: []string{"dlq", "--seq", "2"}, code: 1, says: []string{`say "dlq list"`}},
		"an unknown action":        {args: []string{"dlq", "purge"}, code: 1, says: []string{`say "dlq list"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env, js := deadLetters(t)
			code, out := bridgeCmd(t, env, tc.args...)
			if code != tc.code {
				t.Errorf("%v: exit %d, want %d:\n%s", tc.args, code, tc.code, out)
			}
			for _, w := range tc.says {
				if !strings.Contains(out, w) {
					t.Errorf("%v does not say %q:\n%s", tc.args, w, out)
				}
			}
			if got := streamData(t, js, "AGENT_RUNS"); !slices.Equal(got, tc.replayed) {
				t.Errorf("%v replayed %v, want %v", tc.args, got, tc.replayed)
			}
			var left []string
			for _, d := range all {
				if !slices.Contains(tc.replayed, d) {
					left = append(left, d)
				}
			}
			if got := streamData(t, js, "AGENT_RUNS_DLQ"); !slices.Equal(got, left) {
				t.Errorf("after %v the dead-letter stream holds %v, want %v", tc.args, got, left)
			}
		})
	}
}

// TestCommandsNeverShowCredentialsInURLs: NATS_URL may carry a user and
// password, KONNECT_URL a key in its query. What the commands print, when
// things work and when they fail, names the server without them.
func TestCommandsNeverShowCredentialsInURLs(t *testing.T) {
	defer func(d time.Duration) { natsWait = d }(natsWait)
	natsWait = 300 * time.Millisecond
	ns := testkit.NATS(t)
	konnect := testkit.NewKonnect(t, sandbox.WithToken("spat_good"), sandbox.WithGuide())
	busy := testkit.NewKonnect(t, sandbox.WithFault(sandbox.Answer(503, 0)))
	withPassword := strings.Replace(ns.ClientURL(), "nats://", "nats://admin:S3cretPW@", 1)
	const nobody = "nats://admin:S3cretPW@127.0.0.1:1"
	tests := map[string]struct {
		env  map[string]string
		args []string
		code int
		says []string
	}{
		"check, everything reachable": {
			env:  map[string]string{"NATS_URL": withPassword, "KONNECT_URL": konnect.URL + "?apikey=S3cretKey", "KONNECT_TOKEN": "spat_good"},
			args: []string{"check"},
			says: []string{"ok    NATS reachable at nats://redacted@127.0.0.1:", "Konnect at " + konnect.URL + " is reachable", "an empty batch, which ingests nothing", "all checks passed",
				"ok    events timed more than BRIDGE_MAX_FUTURE=5m0s ahead of the bridge's clock, or before their customer's current billing period (the calendar month, UTC), are delivered and counted (BRIDGE_TIME_POLICY=flag)"},
		},
		"check, Konnect refuses the token": {
			env:  map[string]string{"NATS_URL": withPassword, "KONNECT_URL": konnect.URL + "?apikey=S3cretKey", "KONNECT_TOKEN": "spat_expired"},
			args: []string{"check"}, code: 1,
			says: []string{"FAIL  Konnect at " + konnect.URL + ":"},
		},
		"check, Konnect unavailable for now": {
			env:  map[string]string{"NATS_URL": withPassword, "KONNECT_URL": busy.URL + "?apikey=S3cretKey", "KONNECT_TOKEN": "spat_good"},
			args: []string{"check"}, code: 1,
			says: []string{"FAIL  Konnect at " + busy.URL + " answered 503: try again later"},
		},
		"check, NATS not reachable": {
			env:  map[string]string{"NATS_URL": nobody, "KONNECT_URL": konnect.URL, "KONNECT_TOKEN": "spat_good"},
			args: []string{"check"}, code: 1,
			says: []string{"FAIL  NATS at nats://redacted@127.0.0.1:1 is not reachable", "NATS_URL"},
		},
		"check, one of two servers with a password": {
			env:  map[string]string{"NATS_URL": "nats://127.0.0.1:1," + nobody, "KONNECT_URL": konnect.URL, "KONNECT_TOKEN": "spat_good"},
			args: []string{"check"}, code: 1,
			says: []string{"NATS at nats://127.0.0.1:1,nats://redacted@127.0.0.1:1 is not reachable"},
		},
		"emit, NATS not reachable": {
			env: map[string]string{"NATS_URL": nobody}, args: []string{"emit"}, code: 1,
			says: []string{"NATS at nats://redacted@127.0.0.1:1 is not reachable"},
		},
		"dlq list, NATS not reachable": {
			env: map[string]string{"NATS_URL": nobody}, args: []string{"dlq", "list"}, code: 1,
			says: []string{"NATS at nats://redacted@127.0.0.1:1 is not reachable"},
		},
		"emit, a NATS URL that does not parse": {
			env: map[string]string{"NATS_URL": "nats://admin:S3cret%zzPW@127.0.0.1:1"}, args: []string{"emit"}, code: 1,
			says: []string{"NATS at nats://redacted@127.0.0.1:1"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out := bridgeCmd(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, w := range tc.says {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			for _, secret := range []string{"S3cret", "spat_"} {
				if strings.Contains(out, secret) {
					t.Errorf("output shows %q:\n%s", secret, out)
				}
			}
		})
	}
}

// TestBannerHidesCredentialsInURLs: the first log line says which NATS and
// which ingest URL the bridge uses, without a password or a query key.
func TestBannerHidesCredentialsInURLs(t *testing.T) {
	cfg := config.Defaults()
	cfg.NATS.URL = "nats://admin:S3cretPW@nats-1:4222,nats://admin:S3cretPW@nats-2:4222"
	cfg.Konnect.Token = "spat_S3cretToken"
	var logged bytes.Buffer
	banner(zerolog.New(&logged), cfg, bridge.Started{
		NATSURL:   cfg.NATS.URL,
		IngestURL: "https://openmeter.internal/api/v1/events?apikey=S3cretKey",
		AdminAddr: "127.0.0.1:8080",
	})
	for _, want := range []string{`"nats":"nats://redacted@nats-1:4222,nats://redacted@nats-2:4222"`, `"konnect":"https://openmeter.internal/api/v1/events"`} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("the banner does not say %s:\n%s", want, logged.String())
		}
	}
	if strings.Contains(logged.String(), "S3cret") {
		t.Errorf("the banner shows a secret:\n%s", logged.String())
	}
}

// A dead letter is producer bytes: `bridge dlq list` shows escape
// sequences in its payload, reason and subject, and never writes them raw
// to the operator's terminal.
func TestDLQListEscapesWhatATerminalWouldObey(t *testing.T) {
	env, js := deadLetters(t)
	msg := nats.NewMsg("dlq.agent.runs")
	msg.Header.Set(deadletter.HeaderSubject, "agent.runs.acme")
	msg.Header.Set(deadletter.HeaderKind, "invalid")
	msg.Header.Set(deadletter.HeaderReason, "bad\x1b]0;owned\x07 reason")
	msg.Data = []byte("{\"x\":\"\x1b[2J\x1b[31mred\"}")
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	code, out := bridgeCmd(t, env, "dlq", "list", "--data")
	if code != 0 {
		t.Fatalf("dlq list: exit %d:\n%s", code, out)
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("dlq list wrote control bytes to the terminal: %q", out)
	}
	for _, want := range []string{`bad\x1b]0;owned\x07 reason`, `\x1b[2J\x1b[31mred`, "4 dead letter(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("dlq list does not show %q escaped:\n%s", want, out)
		}
	}
}
