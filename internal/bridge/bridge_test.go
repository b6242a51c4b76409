package bridge_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// wait bounds every wait of this package: generous, since the machine is
// shared and -race is slow, but far below the test binary's timeout.
const wait = 20 * time.Second

// env is one running bridge between a real NATS server and the Konnect
// stand-in, with a producer's connection to NATS.
type env struct {
	t       *testing.T
	nats    *server.Server
	natsURL string
	cfg     config.Config
	konnect *testkit.Konnect
	bridge  *testkit.Bridge
	nc      *nats.Conn
	js      jetstream.JetStream
}

// start runs a bridge with testkit's fast settings, changed by tune when
// not nil, delivering to a Konnect stand-in built with opts.
func start(t *testing.T, tune func(*config.Config), opts ...sandbox.Option) *env {
	t.Helper()
	ns := testkit.NATS(t)
	k := testkit.NewKonnect(t, opts...)
	cfg := testkit.Config(ns.ClientURL(), k.URL)
	if tune != nil {
		tune(&cfg)
	}
	b := testkit.StartBridge(t, cfg)
	nc, js := testkit.Connect(t, ns.ClientURL())
	return &env{t: t, nats: ns, natsURL: ns.ClientURL(), cfg: cfg, konnect: k, bridge: b, nc: nc, js: js}
}

// brief bounds one call to NATS.
func brief() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// publishMsg stores msg in the stream, as a producer using JetStream does.
func (e *env) publishMsg(msg *nats.Msg) *jetstream.PubAck {
	e.t.Helper()
	ctx, cancel := brief()
	defer cancel()
	ack, err := e.js.PublishMsg(ctx, msg)
	if err != nil {
		e.t.Fatalf("publish to %s: %v", msg.Subject, err)
	}
	return ack
}

// publishRuns stores each run as a structured-mode event without waiting
// for each acknowledgement in turn, as a busy producer does.
func (e *env) publishRuns(runs []testkit.Run) {
	e.t.Helper()
	testkit.PublishRuns(e.t, e.js, "agent.runs.acme", runs, wait)
}

// consumer reads the bridge's durable consumer as an operator would.
func (e *env) consumer() *jetstream.ConsumerInfo {
	e.t.Helper()
	ctx, cancel := brief()
	defer cancel()
	c, err := e.js.Consumer(ctx, e.cfg.Bridge.Stream, e.cfg.Bridge.Consumer)
	if err != nil {
		e.t.Fatalf("consumer %s: %v", e.cfg.Bridge.Consumer, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		e.t.Fatalf("consumer info: %v", err)
	}
	return info
}

// waitSettled waits until every stored message was read and settled:
// nothing left to deliver, nothing awaiting an ack.
func (e *env) waitSettled() {
	e.t.Helper()
	var info *jetstream.ConsumerInfo
	testkit.Eventually(e.t, wait, func() bool {
		info = e.consumer()
		return info.NumPending == 0 && info.NumAckPending == 0
	}, "consumer still has messages: %v", lazy(func() string {
		return fmt.Sprintf("%d pending, %d awaiting an ack", info.NumPending, info.NumAckPending)
	}))
}

// lazy is formatted when a wait fails, not when it starts.
type lazy = testkit.Lazy

// waitHeld waits until Konnect holds n events.
func (e *env) waitHeld(n int) {
	e.t.Helper()
	e.konnect.WaitHeld(e.t, n, wait)
}

// deadLetters reads every dead letter stored so far, in order.
func (e *env) deadLetters() []*jetstream.RawStreamMsg {
	e.t.Helper()
	ctx, cancel := brief()
	defer cancel()
	s, err := e.js.Stream(ctx, e.cfg.Bridge.DLQStream)
	if err != nil {
		e.t.Fatalf("dead-letter stream %s: %v", e.cfg.Bridge.DLQStream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		e.t.Fatalf("dead-letter stream info: %v", err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // replayed, so removed
		}
		if err != nil {
			e.t.Fatalf("dead letter %d: %v", seq, err)
		}
		out = append(out, m)
	}
	return out
}

// get fetches a path of the bridge's admin server.
func (e *env) get(path string) (int, http.Header, []byte) {
	e.t.Helper()
	resp, err := http.Get("http://" + e.bridge.AdminAddr + path)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header, body
}

// exposition is a /metrics page: each series ("name{labels}") with its
// value, and the metric families it declares.
type exposition struct {
	series   map[string]float64
	families map[string]bool
}

// scrape reads /metrics as Prometheus would.
func (e *env) scrape() exposition {
	e.t.Helper()
	code, _, body := e.get("/metrics")
	if code != http.StatusOK {
		e.t.Fatalf("GET /metrics: %d", code)
	}
	x := exposition{series: map[string]float64{}, families: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			x.families[strings.Fields(f)[0]] = true
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			e.t.Fatalf("/metrics line %q: %v", line, err)
		}
		x.series[line[:i]] = v
	}
	return x
}

// value is a series' value; the test fails when it is not exposed.
func (x exposition) value(t *testing.T, series string) float64 {
	t.Helper()
	v, ok := x.series[series]
	if !ok {
		t.Fatalf("/metrics has no series %s", series)
	}
	return v
}

// run is a distinct agent run of acme-inc; runs makes n of them, ids
// prefix-000, prefix-001, ...
var run, runs = testkit.AcmeRun, testkit.AcmeRuns

// keys are the (source, id) keys of runs as testkit.Konnect.IDs gives them.
func keys(runs ...testkit.Run) map[string]bool {
	out := map[string]bool{}
	for _, r := range runs {
		out[r.Source+"/"+r.ID] = true
	}
	return out
}

// binaryMsg is r in binary mode: attributes in ce- headers, the data as the
// payload.
func binaryMsg(subject string, r testkit.Run) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set("ce-specversion", "1.0")
	m.Header.Set("ce-type", "agent_run")
	m.Header.Set("ce-source", r.Source)
	m.Header.Set("ce-subject", r.Subject)
	if r.ID != "" {
		m.Header.Set("ce-id", r.ID)
	}
	if !r.Time.IsZero() {
		m.Header.Set("ce-time", r.Time.Format(time.RFC3339))
	}
	m.Header.Set("Content-Type", "application/json")
	m.Data, _ = json.Marshal(map[string]string{"agent_name": r.Agent})
	return m
}
