// Package testkit holds what the project's tests share: a real NATS server
// with JetStream on a random port, a Konnect stand-in that enforces the
// ingest contract, a configuration with fast timings, agent-run events, and
// waiting with a deadline. Only tests import it.
package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

// NATS starts an embedded NATS server with JetStream on a random port,
// storing in a temporary directory; it stops when the test ends.
func NATS(t testing.TB) *server.Server {
	t.Helper()
	return NATSWith(t, &server.Options{})
}

// NATSWith is NATS with opts (users, permissions, ...) besides its own.
func NATSWith(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.JetStream = "127.0.0.1", server.RANDOM_PORT, true
	opts.StoreDir = t.TempDir()
	ns, err := natsconn.StartServer(opts)
	if err != nil {
		t.Fatalf("start NATS: %v", err)
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// Connect opens a NATS connection and a JetStream handle for a producer.
func Connect(t testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect to NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// Stream is an embedded NATS server holding the bridge's stream, empty,
// and a configuration pointing at it with the default names.
func Stream(t testing.TB) (jetstream.JetStream, config.Config, jetstream.Stream) {
	t.Helper()
	ns := NATS(t)
	_, js := Connect(t, ns.ClientURL())
	cfg := config.Defaults()
	cfg.NATS.URL = ns.ClientURL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: cfg.Bridge.Stream, Subjects: []string{cfg.Bridge.Subject}})
	if err != nil {
		t.Fatal(err)
	}
	return js, cfg, s
}

// Konnect is the Konnect stand-in: the sandbox behind an httptest server.
type Konnect struct {
	*sandbox.Sandbox
	URL string // the ingest URL
	srv *httptest.Server
}

// NewKonnect serves a sandbox with the given options; it stops when the
// test ends.
func NewKonnect(t testing.TB, opts ...sandbox.Option) *Konnect {
	t.Helper()
	sb := sandbox.New(opts...)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &Konnect{Sandbox: sb, URL: srv.URL + "/v3/openmeter/events", srv: srv}
}

// NewCheckedKonnect is NewKonnect behind SpecChecked: a request or an
// answer the published spec does not allow fails the test.
func NewCheckedKonnect(t testing.TB, opts ...sandbox.Option) *Konnect {
	t.Helper()
	sb := sandbox.New(opts...)
	srv := SpecChecked(t, sb)
	return &Konnect{Sandbox: sb, URL: srv.URL + "/v3/openmeter/events", srv: srv}
}

// IDs lists the (source, id) keys Konnect holds, as "source/id".
func (k *Konnect) IDs() map[string]bool {
	ids := map[string]bool{}
	for _, e := range k.Events() {
		ids[e.Source+"/"+e.ID] = true
	}
	return ids
}

// WaitHeld waits until Konnect holds n events.
func (k *Konnect) WaitHeld(t testing.TB, n int, within time.Duration) {
	t.Helper()
	Eventually(t, within, func() bool { return len(k.Events()) >= n },
		"Konnect holds %v, want %d events", Lazy(func() string { return strconv.Itoa(len(k.Events())) }), n)
}

// AcceptedEvents adds up the events of every request Konnect accepted,
// counting again those it already held: with nothing sent twice, the number
// of events published.
func (k *Konnect) AcceptedEvents() int {
	n := 0
	for _, r := range k.Requests() {
		if r.Status == http.StatusAccepted {
			n += r.Events
		}
	}
	return n
}

// Config is a valid configuration pointing at natsURL and konnectURL, with
// timings short enough for tests: small batches, short linger, short
// retry budget and redelivery delay, an admin server on a random port.
func Config(natsURL, konnectURL string) config.Config {
	c := config.Defaults()
	c.NATS.URL = natsURL
	c.Konnect.URL = konnectURL
	c.Konnect.Token = "spat_test"
	c.Konnect.Timeout = 2 * time.Second
	c.Bridge.HTTPAddr = "127.0.0.1:0"
	c.Bridge.ShutdownTimeout = 3 * time.Second
	c.Batch.Size = 20
	c.Batch.Linger = 20 * time.Millisecond
	c.Batch.AckWait = 3 * time.Second
	c.Retry.Budget = 2 * time.Second
	c.Retry.MaxBackoff = 200 * time.Millisecond
	c.Retry.NakDelay = 200 * time.Millisecond
	c.Retry.ProbeMax = 200 * time.Millisecond
	c.Billing.CheckInterval = 0 // the tests of billing turn it on
	return c
}

// Run is one agent run as a producer publishes it.
type Run struct {
	ID, Source, Subject, Agent string
	Time                       time.Time
}

// JSON is the run as a structured-mode CloudEvent; an empty ID is left out.
func (r Run) JSON() []byte {
	ev := map[string]any{
		"specversion": "1.0", "type": "agent_run", "source": r.Source, "subject": r.Subject,
		"datacontenttype": "application/json", "data": map[string]string{"agent_name": r.Agent},
	}
	if r.ID != "" {
		ev["id"] = r.ID
	}
	if !r.Time.IsZero() {
		ev["time"] = r.Time.Format(time.RFC3339)
	}
	b, _ := json.Marshal(ev)
	return b
}

// JSONChanged is the run as JSON after change edits the event, as a
// producer's mistake would.
func (r Run) JSONChanged(change func(ev map[string]any)) []byte {
	ev := map[string]any{}
	_ = json.Unmarshal(r.JSON(), &ev)
	change(ev)
	b, _ := json.Marshal(ev)
	return b
}

// AcmeRun is a distinct summarizer run of acme-inc.
func AcmeRun(id string) Run {
	return Run{ID: id, Source: "acme-platform", Subject: "acme-inc", Agent: "summarizer",
		Time: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
}

// AcmeRuns makes n distinct AcmeRuns, ids prefix-000, prefix-001, ...
func AcmeRuns(prefix string, n int) []Run {
	out := make([]Run, n)
	for i := range out {
		out[i] = AcmeRun(fmt.Sprintf("%s-%03d", prefix, i))
	}
	return out
}

// Guide is the Konnect guide's walk-through: two summarizer runs and one
// translator run for acme-inc.
func Guide() []Run {
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	return []Run{
		{ID: "8655CDD7-0775-4AEA-AF8C-89C47EBC8828", Source: "acme-platform", Subject: "acme-inc", Agent: "summarizer", Time: at},
		{ID: "3EC7EFD0-5B78-47A4-AE9E-15965675CF95", Source: "acme-platform", Subject: "acme-inc", Agent: "summarizer", Time: at},
		{ID: "48FC220C-C124-4B73-B378-7DC5CF88DD1A", Source: "acme-platform", Subject: "acme-inc", Agent: "translator", Time: at},
	}
}

// Publish stores data on subject through JetStream and fails the test if
// the stream did not.
func Publish(t testing.TB, js jetstream.JetStream, subject string, data []byte) *jetstream.PubAck {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := js.Publish(ctx, subject, data)
	if err != nil {
		t.Fatalf("publish to %s: %v", subject, err)
	}
	return ack
}

// PublishRuns stores each run on subject as a structured-mode event
// without waiting for each acknowledgement in turn, as a busy producer does.
func PublishRuns(t testing.TB, js jetstream.JetStream, subject string, runs []Run, within time.Duration) {
	t.Helper()
	for _, r := range runs {
		if _, err := js.PublishAsync(subject, r.JSON()); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(within):
		t.Fatalf("the stream did not store %d events in %s", len(runs), within)
	}
}

// Eventually polls cond every 20ms until it holds or within passes; then
// it fails the test with what, formatted.
func Eventually(t testing.TB, within time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, fmt.Sprintf(what, args...))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Lazy is formatted when a wait fails, not when it starts.
type Lazy func() string

func (l Lazy) String() string { return l() }

// RunRecordRule is the mapping rule of the documentation's first example:
// an agent runner's own run record on agent.runs.raw.<customer>, its data
// the agent's name and the tokens it used. A rules file is "mappings:\n"
// and rules like it.
const RunRecordRule = `  - subject: "agent.runs.raw.>"
    when: "has(msg.usage)"
    id: "msg.run_id"
    type: "'agent_run'"
    source: "'acme-platform'"
    customer: "subject.split('.')[3]"
    time: "msg.finished_at"
    data: "{'agent_name': msg.agent, 'tokens': msg.usage.input_tokens + msg.usage.output_tokens}"
`
