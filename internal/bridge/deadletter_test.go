package bridge_test

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// structured is a valid agent run with id as JSON, changed by change.
func structured(id string, change func(ev map[string]any)) []byte {
	return run(id).JSONChanged(change)
}

func payload(subject string, data []byte) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = data
	return m
}

// "Invalid events never reaching Konnect": each malformed message is
// published between valid events. The valid ones are delivered; none of the
// invalid ones reaches Konnect; each is dead-lettered once with its payload,
// its headers and a reason naming what is wrong; its message is settled for
// good; and the bridge goes on delivering.
func TestInvalidEventsAreDeadLetteredNeverDelivered(t *testing.T) {
	t.Parallel()
	const subject = "agent.runs.acme"
	del := func(name string) func(map[string]any) { return func(ev map[string]any) { delete(ev, name) } }
	set := func(name string, v any) func(map[string]any) { return func(ev map[string]any) { ev[name] = v } }
	badTime := binaryMsg(subject, run("binary-bad-time"))
	badTime.Header.Set("ce-time", "yesterday at noon")
	notJSONData := binaryMsg(subject, run("binary-text-data"))
	notJSONData.Data = []byte("summarizer finished")
	oldSpec := binaryMsg(subject, run("binary-03"))
	oldSpec.Header.Set("ce-specversion", "0.3")
	inArray := structured("array-bad", del("subject"))

	cases := map[string]struct {
		msg  *nats.Msg
		kind string
		// mentions is what the reason must name: the attribute, or for a bad
		// time (the SDK's error names no attribute) the value.
		mentions string
		// deadPayload is what the dead letter carries: the message's
		// payload when nil.
		deadPayload []byte
		// index is the Konnect-Bridge-Index header, for an event of an array.
		index string
		// alsoValid is a valid event the same message carries.
		alsoValid []testkit.Run
	}{
		"not JSON":                         {msg: payload(subject, []byte("run finished: summarizer for acme-inc")), kind: "undecodable", mentions: "JSON"},
		"truncated JSON":                   {msg: payload(subject, []byte(`{"specversion":"1.0","id":"trunc`)), kind: "undecodable", mentions: "JSON"},
		"missing subject":                  {msg: payload(subject, structured("no-subject", del("subject"))), kind: "invalid", mentions: "subject:"},
		"missing type":                     {msg: payload(subject, structured("no-type", del("type"))), kind: "invalid", mentions: "type:"},
		"data is an array":                 {msg: payload(subject, structured("data-array", set("data", []string{"summarizer"}))), kind: "invalid", mentions: "data:"},
		"specversion 0.2":                  {msg: payload(subject, structured("spec-02", set("specversion", "0.2"))), kind: "invalid", mentions: "specversion:"},
		"time not RFC 3339":                {msg: payload(subject, structured("bad-time", set("time", "yesterday at noon"))), kind: "invalid", mentions: "yesterday at noon"},
		"data_base64 instead of JSON data": {msg: payload(subject, structured("base64", func(ev map[string]any) { delete(ev, "data"); ev["data_base64"] = "c3VtbWFyaXplcg==" })), kind: "invalid", mentions: "data_base64:"},
		"datacontenttype text/plain":       {msg: payload(subject, structured("text-plain", func(ev map[string]any) { ev["datacontenttype"] = "text/plain"; ev["data"] = "summarizer" })), kind: "invalid", mentions: "datacontenttype:"},
		"binary mode with a bad ce-time":   {msg: badTime, kind: "invalid", mentions: "ce-time:"},
		"binary mode with a non-JSON body": {msg: notJSONData, kind: "invalid", mentions: "data:"},
		"binary mode with specversion 0.3": {msg: oldSpec, kind: "invalid", mentions: "ce-specversion:"},
		"one bad event in an array of two": {msg: payload(subject, []byte("["+string(run("array-good").JSON())+","+string(inArray)+"]")), kind: "invalid", mentions: "subject:", deadPayload: inArray, index: "1", alsoValid: []testkit.Run{run("array-good")}},
	}

	e := start(t, nil)
	valid := []testkit.Run{run("valid-first")}
	testkit.Publish(t, e.js, subject, valid[0].JSON())
	seqs := map[string]uint64{}
	for i, name := range slices.Sorted(maps.Keys(cases)) {
		seqs[name] = e.publishMsg(cases[name].msg).Sequence
		valid = append(valid, cases[name].alsoValid...)
		after := run(fmt.Sprintf("valid-%02d", i))
		testkit.Publish(t, e.js, subject, after.JSON())
		valid = append(valid, after)
	}

	e.waitHeld(len(valid))
	e.waitSettled()
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) >= len(cases) },
		"fewer than %d dead letters", len(cases))

	if got, want := e.konnect.IDs(), keys(valid...); !maps.Equal(got, want) {
		t.Errorf("Konnect holds %v, want exactly the valid events %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for _, r := range e.konnect.Requests() {
		if r.Events == 0 {
			continue // the start-up check of the token, an empty batch
		}
		if r.Status != http.StatusAccepted {
			t.Errorf("Konnect answered a request %d (%s): an invalid event reached it", r.Status, r.Detail)
		}
	}
	if got := e.konnect.AcceptedEvents(); got != len(valid) {
		t.Errorf("Konnect's requests carried %d events, want the %d valid ones", got, len(valid))
	}
	if info := e.consumer(); info.NumRedelivered != 0 {
		t.Errorf("%d messages redelivered, want none: an invalid message is settled for good", info.NumRedelivered)
	}

	letters := map[string]*jetstream.RawStreamMsg{}
	for _, dl := range e.deadLetters() {
		seq := dl.Header.Get("Konnect-Bridge-Sequence")
		if letters[seq] != nil {
			t.Errorf("message %s was dead-lettered twice", seq)
		}
		letters[seq] = dl
	}
	if len(letters) != len(cases) {
		t.Errorf("%d messages dead-lettered, want %d", len(letters), len(cases))
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			seq := strconv.FormatUint(seqs[name], 10)
			dl := letters[seq]
			if dl == nil {
				t.Fatalf("no dead letter for stream sequence %s", seq)
			}
			h := dl.Header
			if reason := h.Get("Konnect-Bridge-Reason"); !strings.Contains(reason, c.mentions) {
				t.Errorf("reason %q does not mention %q", reason, c.mentions)
			}
			want := map[string]string{
				"Konnect-Bridge-Reason-Kind": c.kind,
				"Konnect-Bridge-Subject":     subject,
				"Konnect-Bridge-Stream":      e.cfg.Bridge.Stream,
				"Konnect-Bridge-Deliveries":  "1",
				"Konnect-Bridge-Index":       c.index,
			}
			for k, v := range c.msg.Header {
				want[k] = v[0]
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			wantPayload := c.deadPayload
			if wantPayload == nil {
				wantPayload = c.msg.Data
			}
			if !bytes.Equal(dl.Data, wantPayload) {
				t.Errorf("dead letter payload = %q, want the original %q", dl.Data, wantPayload)
			}
		})
	}

	// The bridge is still delivering.
	last := run("valid-last")
	testkit.Publish(t, e.js, subject, last.JSON())
	testkit.Eventually(t, wait, func() bool { return e.konnect.IDs()[last.Source+"/"+last.ID] },
		"a valid event published after the invalid ones was not delivered")
}

// Konnect refusing one event: the others are delivered and the refused one
// is dead-lettered with Konnect's status and reason, whether Konnect
// refused it by a rule the bridge cannot know inside a batch of 100, or
// because it alone is larger than Konnect takes.
func TestEventKonnectRefusesIsDeadLetteredOthersDelivered(t *testing.T) {
	t.Parallel()
	const refusal = "meter agent_runs knows no agent_name ghost"
	cases := map[string]struct {
		events  int
		opts    []sandbox.Option
		tune    func(*config.Config)
		bad     func(r *testkit.Run)
		kind    string
		status  string
		mention string
		// inBatch: Konnect refuses a whole batch for the one event, so the
		// bridge must split it to find the event.
		inBatch bool
	}{
		"one event of a batch of 100 breaks a rule of Konnect's": {
			events: 100,
			opts: []sandbox.Option{sandbox.WithReject(func(ev sandbox.Event) string {
				if bytes.Contains(ev.Data, []byte("ghost")) {
					return refusal
				}
				return ""
			})},
			tune:    func(c *config.Config) { c.Batch.Size, c.Batch.Linger = 100, 500*time.Millisecond },
			bad:     func(r *testkit.Run) { r.Agent = "ghost" },
			kind:    "rejected",
			status:  "400",
			mention: refusal,
			inBatch: true,
		},
		"one event larger than Konnect takes": {
			events:  10,
			opts:    []sandbox.Option{sandbox.WithMaxBodyBytes(4 << 10)},
			bad:     func(r *testkit.Run) { r.Agent = strings.Repeat("summarizer ", 800) },
			kind:    "too_large",
			status:  "413",
			mention: "larger than",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := start(t, c.tune, c.opts...)
			all := runs("refused", c.events)
			badIndex := c.events / 3
			c.bad(&all[badIndex])
			e.publishRuns(all)

			e.waitHeld(c.events - 1)
			e.waitSettled()
			good := slices.Delete(slices.Clone(all), badIndex, badIndex+1)
			if got, want := e.konnect.IDs(), keys(good...); !maps.Equal(got, want) {
				t.Errorf("Konnect holds %d events, want the %d it did not refuse", len(got), len(want))
			}
			dls := e.deadLetters()
			if len(dls) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dls))
			}
			h := dls[0].Header
			if got := h.Get("Konnect-Bridge-Reason"); !strings.Contains(got, c.mention) {
				t.Errorf("reason %q does not carry Konnect's detail %q", got, c.mention)
			}
			if got := h.Get("Konnect-Bridge-Reason-Kind"); got != c.kind {
				t.Errorf("kind %q, want %q", got, c.kind)
			}
			if got := h.Get("Konnect-Bridge-Konnect-Status"); got != c.status {
				t.Errorf("Konnect status %q, want %q", got, c.status)
			}
			if !bytes.Equal(dls[0].Data, all[badIndex].JSON()) {
				t.Errorf("dead letter payload %.80q..., want the refused event as published", dls[0].Data)
			}
			refusedBatch := false
			for _, r := range e.konnect.Requests() {
				refusedBatch = refusedBatch || (r.Status != http.StatusAccepted && r.Events > 1)
			}
			if c.inBatch && !refusedBatch {
				t.Errorf("no refused request held more than one event: the refusal of a whole batch was not exercised")
			}
		})
	}
}
