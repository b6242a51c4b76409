package bridge_test

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// postedIDs counts, per event id, how often it was posted to Konnect,
// whatever Konnect answered; the requests still go on to Konnect.
type postedIDs struct {
	mu  sync.Mutex
	ids map[string]int
}

func (p *postedIDs) fault(w http.ResponseWriter, r *http.Request) bool {
	var evs []struct{ ID string }
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body)) // Konnect still reads it
	_ = json.Unmarshal(body, &evs)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = map[string]int{}
	}
	for _, e := range evs {
		p.ids[e.ID]++
	}
	return false
}

func (p *postedIDs) snapshot() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.ids)
}

// A durable consumer deleted under the bridge (by an operator, a script) is
// recreated after the last acknowledged message: the stream's history,
// kept for days, is not posted to Konnect again, where anything older than
// the deduplication window would be billed twice.
func TestRecreatedConsumerDoesNotPostHistoryAgain(t *testing.T) {
	e := start(t, nil)
	var posted postedIDs
	e.konnect.SetFault(posted.fault)
	e.publishRuns(runs("history", 20))
	testkit.Eventually(t, wait, func() bool { return len(e.konnect.Events()) == 20 }, "20 runs delivered")
	e.waitSettled()
	testkit.Eventually(t, wait, func() bool {
		return e.scrape().series["konnect_bridge_consumer_ack_floor_sequence"] == 20
	}, "the bridge never read the consumer's ack floor of 20")

	ctx, cancel := brief()
	defer cancel()
	if err := e.js.DeleteConsumer(ctx, e.cfg.Bridge.Stream, e.cfg.Bridge.Consumer); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool {
		_, err := e.js.Consumer(ctx, e.cfg.Bridge.Stream, e.cfg.Bridge.Consumer)
		return err == nil
	}, "the bridge did not recreate the deleted consumer")
	e.publishRuns(runs("after", 5))
	testkit.Eventually(t, wait, func() bool { return len(e.konnect.Events()) == 25 }, "the 5 runs published after the recreation were not delivered")

	for id, n := range posted.snapshot() {
		if n != 1 {
			t.Errorf("run %s was posted %d times, want once", id, n)
		}
	}
}

// A core NATS event without an id keeps the id it was given on its first
// attempt through every retry: Konnect may have stored it even though its
// answer was lost.
func TestCoreRetryKeepsTheEventsID(t *testing.T) {
	e := start(t, func(c *config.Config) {
		c.Bridge.CoreSubject = "core.agent.runs.>"
		c.Retry.Budget = 100 * time.Millisecond
		c.Retry.NakDelay = 100 * time.Millisecond
	})
	var posted postedIDs
	var calls atomic.Int64
	e.konnect.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		posted.fault(w, r)
		if calls.Add(1) <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	r := run("")
	if err := e.nc.Publish("core.agent.runs.acme", r.JSON()); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool { return len(e.konnect.Events()) == 1 }, "the core run was not delivered")
	ids := posted.snapshot()
	if len(ids) != 1 || calls.Load() < 4 {
		t.Errorf("posted ids %v over %d requests, want one id through every retry", ids, calls.Load())
	}
}

// A producer's JetStream headers (Nats-Expected-Stream, Nats-Msg-Id, ...)
// must not act on the dead-letter stream, where they would refuse the dead
// letter and hand the message back forever; they are kept inert and
// restored on replay.
func TestDeadLetterKeepsProducerHeadersInert(t *testing.T) {
	e := start(t, nil)
	msg := nats.NewMsg("agent.runs.acme")
	msg.Data = []byte(`{"specversion":"1.0","type":"agent_run","source":"acme-platform","id":"no-subject"}`)
	msg.Header.Set(jetstream.ExpectedStreamHeader, e.cfg.Bridge.Stream)
	msg.Header.Set(jetstream.MsgIDHeader, "producer-42")
	e.publishMsg(msg)
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) == 1 }, "no dead letter stored")
	e.waitSettled()
	dl := e.deadLetters()[0]
	if got := dl.Header.Get(deadletter.HeaderOriginal + jetstream.ExpectedStreamHeader); got != e.cfg.Bridge.Stream {
		t.Errorf("dead letter keeps Nats-Expected-Stream as %q, want %q", got, e.cfg.Bridge.Stream)
	}
	if dl.Header.Get(jetstream.ExpectedStreamHeader) != "" || dl.Header.Get(jetstream.MsgIDHeader) == "producer-42" {
		t.Errorf("dead letter carries live JetStream headers: %v", dl.Header)
	}
	if !strings.Contains(dl.Header.Get(deadletter.HeaderReason), "subject") {
		t.Errorf("reason %q does not name the missing subject", dl.Header.Get(deadletter.HeaderReason))
	}
}

// A bad message close to the server's max_payload cannot be stored again
// with the reason headers added; it is dead-lettered without its payload,
// with the reason, rather than handed back forever.
func TestOversizedDeadLetterIsStoredWithoutItsPayload(t *testing.T) {
	e := start(t, nil)
	big := make([]byte, int(e.nc.MaxPayload())-300)
	for i := range big {
		big[i] = 'x'
	}
	e.publishMsg(&nats.Msg{Subject: "agent.runs.acme", Data: big})
	testkit.Eventually(t, wait, func() bool { return len(e.deadLetters()) == 1 }, "no dead letter stored")
	e.waitSettled()
	dl := e.deadLetters()[0]
	if dl.Header.Get(deadletter.HeaderTruncated) == "" || len(dl.Data) != 0 {
		t.Errorf("dead letter: %d bytes, truncated header %q; want no payload and the header", len(dl.Data), dl.Header.Get(deadletter.HeaderTruncated))
	}
	if kind := dl.Header.Get(deadletter.HeaderKind); kind != "undecodable" {
		t.Errorf("kind %q, want undecodable", kind)
	}
	if ids := slices.Collect(maps.Keys(e.konnect.IDs())); len(ids) != 0 {
		t.Errorf("Konnect holds %v, want nothing", ids)
	}
}

// An idle bridge whose token Konnect refuses says so in /readyz before the
// first event arrives, and turns ready by itself once Konnect accepts it.
func TestReadinessTellsABadTokenBeforeAnyEvent(t *testing.T) {
	e := start(t, nil, sandbox.WithToken("spat_the_one_konnect_expects"))
	code, _, body := e.get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "konnect_auth") || !strings.Contains(string(body), "KONNECT_TOKEN") {
		t.Fatalf("idle bridge with a refused token: /readyz %d %s; want 503 naming konnect_auth and KONNECT_TOKEN", code, body)
	}
	e.konnect.SetToken("spat_test")
	testkit.Eventually(t, wait, func() bool { code, _, _ := e.get("/readyz"); return code == http.StatusOK },
		"/readyz never turned 200 once Konnect accepted the token")
	if n := len(e.konnect.Events()); n != 0 {
		t.Errorf("the token check ingested %d events", n)
	}
}
