package fault_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

// Names the bridge uses by default, which the suite does not change.
const (
	stream    = "AGENT_RUNS"
	consumer  = "konnect-bridge"
	dlqStream = "AGENT_RUNS_DLQ"
	// runSource is the source of every run the producer publishes.
	runSource = "fault-suite"
)

// suite is one test's world: a nats-server process, the Konnect stand-in
// (expecting the bridge's token) and a producer's JetStream handle.
type suite struct {
	t       *testing.T
	nats    *natsServer
	konnect *testkit.Konnect
	js      jetstream.JetStream
	env     []string // settings for every bridge of the test
}

func newSuite(t *testing.T, env ...string) *suite {
	t.Helper()
	// Konnect first: it is closed last, after the bridges are gone.
	k := testkit.NewKonnect(t, sandbox.WithToken("spat_test"))
	n := startNATS(t)
	// The producer's connection comes back quickly after a NATS restart.
	nc, err := nats.Connect(n.URL, nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		t.Fatalf("connect to NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &suite{t: t, nats: n, konnect: k, js: js, env: env}
}

// lazy formats as what f returns when the message is printed, so that a
// failed wait reports the state at the deadline.
type lazy func() string

func (f lazy) String() string { return f() }

// producer publishes agent runs through JetStream as an application would:
// two runs in three carry an id, the third leaves it to the bridge.
type producer struct {
	js jetstream.JetStream
	// msgIDs sets Nats-Msg-Id on every publish so that a publish retried
	// across a NATS restart is stored once.
	msgIDs bool

	mu        sync.Mutex
	ids       []string
	withoutID int

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	err      error
}

func newProducer(js jetstream.JetStream) *producer {
	return &producer{js: js, stop: make(chan struct{}), done: make(chan struct{})}
}

var (
	customers = []string{"acme-inc", "globex", "initech"}
	agents    = []string{"summarizer", "translator"}
)

// publish stores run i in the stream, retrying for a while when it has a
// Nats-Msg-Id to make the retry safe.
func (p *producer) publish(i int) error {
	run := testkit.Run{Source: runSource, Subject: customers[i%len(customers)], Agent: agents[i%len(agents)]}
	withID := i%3 != 2
	if withID {
		run.ID = fmt.Sprintf("run-%05d", i)
	}
	if i%2 == 0 {
		run.Time = time.Now().UTC()
	}
	var opts []jetstream.PublishOpt
	if p.msgIDs {
		opts = append(opts, jetstream.WithMsgID(fmt.Sprintf("msg-%05d", i)))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := p.js.Publish(ctx, "agent.runs."+run.Subject, run.JSON(), opts...)
		cancel()
		if err == nil {
			break
		}
		if !p.msgIDs || time.Now().After(deadline) {
			return fmt.Errorf("publish run %d: %w", i, err)
		}
		select {
		case <-time.After(200 * time.Millisecond): // back off before retrying the publish
		case <-p.stop:
			return fmt.Errorf("stopped while publishing run %d: %w", i, err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if withID {
		p.ids = append(p.ids, run.ID)
	} else {
		p.withoutID++
	}
	return nil
}

// produce publishes up to n runs, one every interval, in a goroutine, until
// done or stopped; it is stopped when the test ends.
func (s *suite) produce(p *producer, n int, every time.Duration) *producer {
	go func() {
		defer close(p.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := range n {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			if err := p.publish(i); err != nil {
				p.err = err
				return
			}
		}
	}()
	s.t.Cleanup(func() { p.halt(); <-p.done })
	return p
}

func (p *producer) halt() { p.stopOnce.Do(func() { close(p.stop) }) }

// wait waits until the producer published everything (or was stopped).
func (p *producer) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the producer did not finish in 2 minutes")
	}
	if p.err != nil {
		t.Fatalf("producer: %v", p.err)
	}
}

// finish stops the producer and waits for its last publish.
func (p *producer) finish(t *testing.T) { t.Helper(); p.halt(); p.wait(t) }

// published returns the ids published and how many runs went without one.
func (p *producer) published() (ids []string, withoutID int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ids), p.withoutID
}

// count is how many runs were published.
func (p *producer) count() int {
	ids, n := p.published()
	return len(ids) + n
}

// assertDelivered checks what an operator checks after an incident: Konnect
// holds every run published, once per (source, id) (the runs without an id
// too, under the ids the bridge derived); nothing was dead-lettered; the
// consumer has nothing pending or awaiting an ack.
func (s *suite) assertDelivered(p *producer) {
	s.t.Helper()
	s.assertHeld(p)
	s.assertNoDeadLetters()
}

// assertHeld checks that Konnect holds every run p published, once per
// (source, id), and nothing else, and that the consumer is drained.
func (s *suite) assertHeld(p *producer) {
	t := s.t
	t.Helper()
	ids, withoutID := p.published()
	want := len(ids) + withoutID
	if want == 0 {
		t.Fatal("the producer published nothing")
	}
	testkit.Eventually(t, 60*time.Second, func() bool {
		return len(s.konnect.IDs()) >= want && len(missing(s.konnect.IDs(), ids)) == 0
	}, "Konnect holds %s", lazy(func() string {
		return fmt.Sprintf("%d distinct runs of %d published; ids missing: %v", len(s.konnect.IDs()), want, first(missing(s.konnect.IDs(), ids), 10))
	}))
	s.assertDrained()

	got := s.konnect.IDs()
	if len(got) != want {
		t.Errorf("Konnect holds %d distinct (source, id), want %d: %d runs with an id and %d without", len(got), want, len(ids), withoutID)
	}
	derived := 0
	published := map[string]bool{}
	for _, id := range ids {
		published[runSource+"/"+id] = true
	}
	for key := range got {
		if !strings.HasPrefix(key, runSource+"/") {
			t.Errorf("Konnect holds %s, which is not from the producer's source %s", key, runSource)
		}
		if !published[key] {
			derived++
		}
	}
	if derived != withoutID {
		t.Errorf("Konnect holds %d runs under ids the bridge derived, want one for each of the %d runs published without an id", derived, withoutID)
	}
}

// missing lists the ids Konnect does not hold.
func missing(held map[string]bool, ids []string) []string {
	var out []string
	for _, id := range ids {
		if !held[runSource+"/"+id] {
			out = append(out, id)
		}
	}
	return out
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// consumerInfo reads the durable consumer's state from JetStream.
func (s *suite) consumerInfo() (*jetstream.ConsumerInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := s.js.Consumer(ctx, stream, consumer)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

// assertDrained waits until the consumer has no message pending and none
// awaiting an ack.
func (s *suite) assertDrained() {
	s.t.Helper()
	testkit.Eventually(s.t, 60*time.Second, func() bool {
		info, err := s.consumerInfo()
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, "the consumer %s", lazy(func() string {
		info, err := s.consumerInfo()
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("still has %d pending and %d awaiting an ack", info.NumPending, info.NumAckPending)
	}))
}

// deadLetters counts the messages in the dead-letter stream; a missing
// stream holds none.
func (s *suite) deadLetters() (msgs, lastSeq uint64) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, dlqStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, 0
	}
	if err != nil {
		s.t.Fatalf("dead-letter stream %s: %v", dlqStream, err)
	}
	info := st.CachedInfo()
	return info.State.Msgs, info.State.LastSeq
}

// assertNoDeadLetters fails with `bridge dlq list` when anything was
// dead-lettered.
func (s *suite) assertNoDeadLetters() {
	s.t.Helper()
	if n, _ := s.deadLetters(); n > 0 {
		s.t.Errorf("%d event(s) were dead-lettered, want none:\n%s", n, s.command("dlq", "list"))
	}
}

// listed is one row of `bridge dlq list`.
type listed struct {
	Seq                                 uint64
	Subject, Kind, Status, Seal, Reason string
}

var listRow = regexp.MustCompile(`^(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$`)

// listDeadLetters runs `bridge dlq list` and reads its rows.
func (s *suite) listDeadLetters() ([]listed, string) {
	out := s.command("dlq", "list")
	var rows []listed
	for line := range strings.Lines(out) {
		m := listRow.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			continue
		}
		seq, _ := strconv.ParseUint(m[1], 10, 64)
		rows = append(rows, listed{Seq: seq, Subject: m[3], Kind: m[4], Status: m[5], Seal: m[6], Reason: m[7]})
	}
	return rows, out
}

// holdingFault is a slow Konnect: it holds each request for a while, then
// lets the sandbox answer it (or answers with then, when set). It knows how
// many requests it holds, so that a test can strike while a batch is in
// flight, and how many the bridge gave up on before the answer (without
// then, the sandbox stores those all the same, as a Konnect that got the
// batch but whose answer was lost would).
type holdingFault struct {
	duration time.Duration
	then     sandbox.Fault
	holding  atomic.Int64
	gaveUp   atomic.Int64
	released chan struct{}
	once     sync.Once
}

func holding(d time.Duration) *holdingFault {
	return &holdingFault{duration: d, released: make(chan struct{})}
}

func (h *holdingFault) fault() sandbox.Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		h.holding.Add(1)
		defer h.holding.Add(-1)
		t := time.NewTimer(h.duration)
		defer t.Stop()
		select {
		case <-t.C:
		case <-h.released:
		case <-r.Context().Done():
			h.gaveUp.Add(1)
		}
		if h.then != nil {
			return h.then(w, r)
		}
		return false
	}
}

// letGo answers every request held, and those to come, at once.
func (h *holdingFault) letGo() { h.once.Do(func() { close(h.released) }) }
