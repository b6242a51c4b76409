package fault_test

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// A producer that NATS does not keep off the dead-letter subjects writes
// there: a decoy on the subject the next bad run's dead letter will take,
// to make the bridge believe it already stored, and a dead letter of its
// own making that names another customer's subject, for replay to bill.
// The bridge stores the genuine dead letter beside the decoy and says so;
// `bridge dlq list` marks both forgeries; `bridge dlq replay` sends
// neither, and counts what it did.
func TestForgedDeadLettersHideNothingAndBillNoOne(t *testing.T) {
	s := newSuite(t)
	b := s.startBridge("bridge")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bad := func(id string) {
		t.Helper()
		m := nats.NewMsg("agent.runs.acme")
		m.Data = []byte(`{"specversion":"1.0","id":"` + id + `","source":"fault-suite","subject":"acme-inc","data":{"agent_name":"summarizer"}}`)
		if _, err := s.js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	forge := func(subject, original, seal, data string) {
		t.Helper()
		m := nats.NewMsg(subject)
		m.Header.Set(deadletter.HeaderSubject, original)
		m.Header.Set(deadletter.HeaderKind, "rejected")
		m.Header.Set(deadletter.HeaderReason, "nothing to see")
		m.Header.Set(deadletter.HeaderStream, stream)
		if seal != "" {
			m.Header.Set(deadletter.HeaderSeal, seal)
		}
		m.Data = []byte(data)
		if _, err := s.js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	waitLetters := func(n uint64) {
		t.Helper()
		testkit.Eventually(t, 30*time.Second, func() bool { got, _ := s.deadLetters(); return got == n },
			"the dead-letter stream holds %s", lazy(func() string {
				got, _ := s.deadLetters()
				return strconv.FormatUint(got, 10) + ", want " + strconv.FormatUint(n, 10)
			}))
	}

	// The first bad run shows the attacker where dead letters go.
	bad("bad-1")
	waitLetters(1)
	dlq, err := s.js.Stream(ctx, dlqStream)
	if err != nil {
		t.Fatal(err)
	}
	first, err := dlq.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	events, err := s.js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(first.Subject, ".") // dlq.agent.runs.<stream>.<seq>.all
	parts[len(parts)-2] = strconv.FormatUint(events.CachedInfo().State.LastSeq+1, 10)
	next := strings.Join(parts, ".")
	// A seal copied from the genuine dead letter, its MAC made up.
	seal := first.Header.Get(deadletter.HeaderSeal)
	if seal == "" {
		t.Fatalf("the bridge's dead letter is not sealed: %v", first.Header)
	}
	forge(next, "agent.runs.acme", seal[:strings.LastIndexByte(seal, '.')]+".AAAA", `{"decoy":true}`)

	// The next bad run's dead letter is stored beside the decoy, and its
	// message acked only then.
	bad("bad-2")
	waitLetters(3)
	s.assertDrained()
	if got := b.metric(`konnect_bridge_dead_letters_foreign_total{found="forged"}`); got != 1 {
		t.Errorf("konnect_bridge_dead_letters_foreign_total{found=\"forged\"} = %v, want 1", got)
	}
	if got := b.metric(`konnect_bridge_events_dead_lettered_total{reason="invalid"}`); got != 2 {
		t.Errorf("konnect_bridge_events_dead_lettered_total{reason=\"invalid\"} = %v, want the 2 bad runs", got)
	}

	// A dead letter of the attacker's making, for globex's subject.
	forge("dlq.agent.runs.made-up.1.all", "agent.runs.globex", "",
		`{"specversion":"1.0","type":"agent_run","id":"forged-1","source":"fault-suite","subject":"globex-corp","time":"2026-11-27T08:00:00Z","data":{"agent_name":"summarizer"}}`)
	waitLetters(4)

	rows, out := s.listDeadLetters()
	seals := map[string]int{}
	badRuns := 0
	for _, r := range rows {
		seals[r.Seal]++
		if r.Seal == "ok" && r.Kind == "invalid" && strings.Contains(r.Reason, "type: required") {
			badRuns++
		}
	}
	if len(rows) != 4 || seals["ok"] != 2 || seals["FORGED"] != 1 || seals["UNSEALED"] != 1 || badRuns != 2 {
		t.Errorf("`bridge dlq list` shows %d rows, seals %v, %d sealed bad runs; want both bad runs sealed, the decoy FORGED and the made-up one UNSEALED:\n%s", len(rows), seals, badRuns, out)
	}
	if !strings.Contains(out, "not sealed by the bridge: 2 of them") {
		t.Errorf("`bridge dlq list` does not sum up the forgeries:\n%s", out)
	}

	// Replay sends the bad runs back (still bad, they are dead-lettered
	// again) and refuses both forgeries; it says so and exits non-zero.
	out, code := s.commandExit("dlq", "replay")
	if code == 0 || !strings.Contains(out, "replayed 0, stored 2, kept 0, refused 2") {
		t.Errorf("`bridge dlq replay` exited %d and printed:\n%s\nwant the two bad runs stored again, both forgeries refused, and a non-zero exit", code, out)
	}
	waitLetters(4) // the bad runs dead-lettered again, both forgeries kept

	// The fence holds for what replay would send even when asked to take
	// dead letters the bridge did not seal.
	forge("dlq.agent.runs.made-up.2.all", "agent.runs.acme", "",
		`{"specversion":"1.0","type":"agent_run","id":"forged-2","source":"fault-suite","subject":"globex-corp","time":"2026-11-27T08:00:00Z","data":{"agent_name":"summarizer"}}`)
	waitLetters(5)
	_, last := s.deadLetters()
	out, code = s.commandExit("dlq", "replay", "--unverified", "--seq", strconv.FormatUint(last, 10),
		"--fence-subjects", "agent.runs.{customer}", "--fence-customers", "acme=acme-inc,globex=globex-corp")
	if code == 0 || !strings.Contains(out, "the fence refuses it") || !strings.Contains(out, "refused 1") {
		t.Errorf("`bridge dlq replay --unverified` with the fence exited %d and printed:\n%s\nwant the globex run on acme's subject refused by the fence", code, out)
	}
	if n, _ := s.deadLetters(); n != 5 {
		t.Errorf("the dead-letter stream holds %d after the refused replay, want the 5 it held", n)
	}
	if held := s.konnect.IDs(); held["fault-suite/forged-1"] || held["fault-suite/forged-2"] || len(held) != 0 {
		t.Errorf("Konnect holds %v, want no run at all: both runs were bad, both others forged", held)
	}
}

// commandExit runs the bridge binary like command, and returns its exit
// code instead of failing on a non-zero one.
func (s *suite) commandExit(args ...string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bridgeBin, args...)
	cmd.Env = append(cleanEnv(), "NATS_URL="+s.nats.URL)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		s.t.Fatalf("bridge %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), cmd.ProcessState.ExitCode()
}
