package fault_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// malformed are messages a broken producer publishes, keyed by name (the
// last token of the subject each is published on), with the kind and the
// words of the reason `bridge dlq list` must show for each.
var malformed = map[string]struct {
	header       map[string]string
	data         string
	kind, reason string
}{
	"not-json": {
		data: `agent run: summarizer for acme-inc`,
		kind: "undecodable", reason: "not a JSON object",
	},
	"missing-subject": {
		data: `{"specversion":"1.0","id":"bad-1","source":"fault-suite","type":"agent_run","data":{"agent_name":"summarizer"}}`,
		kind: "invalid", reason: "subject: required",
	},
	"data-array": {
		data: `{"specversion":"1.0","id":"bad-2","source":"fault-suite","type":"agent_run","subject":"acme-inc","datacontenttype":"application/json","data":["summarizer"]}`,
		kind: "invalid", reason: "data: must be a JSON object",
	},
	"specversion-0.2": {
		data: `{"specversion":"0.2","id":"bad-3","source":"fault-suite","type":"agent_run","subject":"acme-inc","data":{"agent_name":"summarizer"}}`,
		kind: "invalid", reason: "specversion",
	},
	"missing-type": {
		data: `{"specversion":"1.0","id":"bad-4","source":"fault-suite","subject":"acme-inc","data":{"agent_name":"summarizer"}}`,
		kind: "invalid", reason: "type: required",
	},
	"bad-time": {
		data: `{"specversion":"1.0","id":"bad-5","source":"fault-suite","type":"agent_run","subject":"acme-inc","time":"yesterday","data":{"agent_name":"summarizer"}}`,
		kind: "invalid", reason: `"yesterday"`,
	},
	"binary-bad-time": {
		header: map[string]string{"ce-specversion": "1.0", "ce-id": "bad-6", "ce-source": "fault-suite", "ce-type": "agent_run",
			"ce-subject": "acme-inc", "ce-time": "at noon", "Content-Type": "application/json"},
		data: `{"agent_name":"summarizer"}`,
		kind: "invalid", reason: `ce-time: "at noon" is not RFC 3339`,
	},
	"binary-specversion-0.3": {
		header: map[string]string{"ce-specversion": "0.3", "ce-id": "bad-7", "ce-source": "fault-suite", "ce-type": "agent_run", "ce-subject": "acme-inc"},
		data:   `{"agent_name":"summarizer"}`,
		kind:   "invalid", reason: "ce-specversion",
	},
	"binary-no-source": {
		header: map[string]string{"ce-specversion": "1.0", "ce-id": "bad-8", "ce-type": "agent_run", "ce-subject": "acme-inc"},
		data:   `{"agent_name":"summarizer"}`,
		kind:   "invalid", reason: "source: required",
	},
}

// Malformed runs published among valid ones are dead-lettered one by one,
// each with its reason, while the valid runs around them reach Konnect and
// the bridge keeps running. `bridge dlq replay --seq N` sends one back to
// its subject, where, still malformed, it is dead-lettered again.
func TestMalformedRunsAreDeadLetteredWithTheirReason(t *testing.T) {
	s := newSuite(t)
	b := s.startBridge("bridge")
	valid := newProducer(s.js)
	i := 0
	for name, m := range malformed {
		for range 3 {
			if err := valid.publish(i); err != nil {
				t.Fatal(err)
			}
			i++
		}
		msg := nats.NewMsg("agent.runs.bad." + name)
		for k, v := range m.header {
			msg.Header.Set(k, v)
		}
		msg.Data = []byte(m.data)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := s.js.PublishMsg(ctx, msg)
		cancel()
		if err != nil {
			t.Fatalf("publish %s: %v", name, err)
		}
	}
	for range 3 {
		if err := valid.publish(i); err != nil {
			t.Fatal(err)
		}
		i++
	}

	s.assertHeld(valid)
	testkit.Eventually(t, 30*time.Second, func() bool { n, _ := s.deadLetters(); return n == uint64(len(malformed)) },
		"the dead-letter stream holds %s", lazy(func() string {
			n, _ := s.deadLetters()
			return strconv.FormatUint(n, 10) + " dead letters, want " + strconv.Itoa(len(malformed))
		}))
	rows, out := s.listDeadLetters()
	bySubject := map[string]listed{}
	for _, r := range rows {
		bySubject[r.Subject] = r
	}
	if len(rows) != len(malformed) {
		t.Errorf("`bridge dlq list` shows %d dead letters, want %d:\n%s", len(rows), len(malformed), out)
	}
	for name, m := range malformed {
		r, ok := bySubject["agent.runs.bad."+name]
		switch {
		case !ok:
			t.Errorf("%s: not in `bridge dlq list`:\n%s", name, out)
		case r.Kind != m.kind || !strings.Contains(r.Reason, m.reason):
			t.Errorf("%s: listed as %s %q, want %s with %q", name, r.Kind, r.Reason, m.kind, m.reason)
		case r.Seal != "ok":
			// Reasons with line breaks or edge spaces are stored as NATS
			// writes header values; the seal covers exactly that.
			t.Errorf("%s: the bridge's own dead letter is listed with seal %s, want ok", name, r.Seal)
		}
	}
	if code, _ := b.get("/healthz"); !b.running() || code != http.StatusOK {
		t.Fatalf("the bridge is not alive after the malformed runs: running %v, /healthz %d", b.running(), code)
	}

	// Replay one: it leaves the dead-letter stream, goes back to its
	// subject and, still malformed, comes back under a new sequence.
	replayed, ok := bySubject["agent.runs.bad.missing-type"]
	if !ok {
		t.FailNow()
	}
	_, lastSeq := s.deadLetters()
	if out := s.command("dlq", "--seq", strconv.FormatUint(replayed.Seq, 10), "replay"); !strings.Contains(out, "replayed 0, stored 1, kept 0, refused 0") {
		t.Errorf("`bridge dlq replay --seq %d` printed %q, want it to say it stored one again", replayed.Seq, out)
	}
	testkit.Eventually(t, 30*time.Second, func() bool {
		n, last := s.deadLetters()
		return n == uint64(len(malformed)) && last > lastSeq
	}, "the replayed run was not dead-lettered again")
	rows, out = s.listDeadLetters()
	if len(rows) != len(malformed) {
		t.Errorf("after the replay `bridge dlq list` shows %d dead letters, want %d still:\n%s", len(rows), len(malformed), out)
	}
	again := 0
	for _, r := range rows {
		if r.Seq == replayed.Seq {
			t.Errorf("dead letter %d is still listed after its replay:\n%s", r.Seq, out)
		}
		if r.Subject == replayed.Subject {
			again++
			if r.Seq <= lastSeq || r.Reason != replayed.Reason {
				t.Errorf("the replayed run is listed as %d %q, want a sequence after %d and the reason %q", r.Seq, r.Reason, lastSeq, replayed.Reason)
			}
		}
	}
	if again != 1 {
		t.Errorf("the replayed run is listed %d times, want once:\n%s", again, out)
	}
	s.assertDrained()
	if ids := s.konnect.IDs(); len(ids) != valid.count() {
		t.Errorf("Konnect holds %d runs, want the %d valid ones only", len(ids), valid.count())
	}
	if !b.running() {
		t.Errorf("the bridge exited: %s", b.state)
	}
}
