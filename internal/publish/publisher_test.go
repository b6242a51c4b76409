package publish_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/event"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/publish"
	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
	"github.com/konnect-bridge/konnect-bridge/internal/testkit"
)

const token = "spat_publisher_test"

// runJSON is an agent run as the bridge hands it to the publisher: a valid
// event encoded by event.AppendJSON.
func runJSON(t testing.TB, id string) []byte {
	t.Helper()
	e := ce.New()
	e.SetID(id)
	e.SetSource("acme-platform")
	e.SetType("agent_run")
	e.SetSubject("acme-inc")
	e.SetTime(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	if err := e.SetData(ce.ApplicationJSON, map[string]string{"agent_name": "summarizer"}); err != nil {
		t.Fatal(err)
	}
	if err := event.Validate(&e); err != nil {
		t.Fatal(err)
	}
	return event.AppendJSON(nil, &e)
}

func runIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("run-%02d", i)
	}
	return ids
}

// ledger records the outcome every event gets, as the NATS side would
// settle its message, and complains about a second outcome.
type ledger struct {
	t                                    testing.TB
	delivered, rejected, retry, outcomes atomic.Int64

	mu   sync.Mutex
	byID map[string][]delivery.Settlement
}

func newLedger(t testing.TB) *ledger { return &ledger{t: t, byID: map[string][]delivery.Settlement{}} }

func (l *ledger) item(id string) delivery.Item {
	return delivery.Item{JSON: runJSON(l.t, id), Owner: delivery.SettleFunc(func(o delivery.Settlement) {
		l.mu.Lock()
		l.byID[id] = append(l.byID[id], o)
		n := len(l.byID[id])
		l.mu.Unlock()
		if n > 1 {
			l.t.Errorf("event %s got outcome #%d (%v): an event is settled exactly once", id, n, o.Fate)
		}
		switch o.Fate {
		case delivery.Delivered:
			l.delivered.Add(1)
		case delivery.DeadLetter:
			l.rejected.Add(1)
		case delivery.HandBack:
			l.retry.Add(1)
		default:
			l.t.Errorf("event %s got fate %v, which is never given to an event", id, o.Fate)
		}
		l.outcomes.Add(1)
	})}
}

// outcome is the one outcome of event id.
func (l *ledger) outcome(id string) delivery.Settlement {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.byID[id]
	if len(got) != 1 {
		l.t.Fatalf("event %s has %d outcomes, want exactly one", id, len(got))
	}
	return got[0]
}

// settledOnce checks that each of ids has exactly one outcome and no
// other event has any.
func (l *ledger) settledOnce(ids []string) {
	l.t.Helper()
	for _, id := range ids {
		l.outcome(id)
	}
	if n := l.outcomes.Load(); n != int64(len(ids)) {
		l.t.Errorf("%d outcomes for %d events", n, len(ids))
	}
}

func (l *ledger) counts() string {
	return fmt.Sprintf("%d delivered, %d rejected, %d handed back", l.delivered.Load(), l.rejected.Load(), l.retry.Load())
}

// running is a Publisher delivering to a Konnect stand-in.
type running struct {
	in      chan delivery.Item
	cancel  context.CancelFunc
	done    chan struct{}
	health  *health.Health
	metrics *metrics.Metrics

	// The input is closed once, after every feeder stopped, as the bridge
	// closes it after its sources stopped.
	feeders   sync.WaitGroup
	quit      chan struct{}
	closeOnce sync.Once
}

func limits() publish.Limits {
	return publish.Limits{
		Size: 10, Bytes: 1 << 20, Linger: 20 * time.Millisecond, InFlight: 2, FixedConcurrency: true,
		RetryBudget: 5 * time.Second, MaxBackoff: 50 * time.Millisecond, NakDelay: 3 * time.Second, ProbeMax: 100 * time.Millisecond,
	}
}

func startPublisher(t *testing.T, url, token string, l publish.Limits, h *health.Health, log zerolog.Logger) *running {
	t.Helper()
	if h == nil {
		h = health.New(nil)
	}
	client := publish.NewClient(url, token, 5*time.Second, time.Second, l.InFlight)
	r := &running{in: make(chan delivery.Item), done: make(chan struct{}), quit: make(chan struct{}), health: h, metrics: metrics.New()}
	p := publish.New(client, l, log, r.metrics, h)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		p.Run(ctx, r.in)
	}()
	t.Cleanup(func() {
		cancel()
		close(r.quit)
		r.feeders.Wait()
		r.closeIn()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("the publisher did not return 10s after its context ended and its input closed")
		}
	})
	return r
}

func (r *running) closeIn() { r.closeOnce.Do(func() { close(r.in) }) }

// feed hands items to the publisher in the background, as the consumer
// does, until the test ends.
func (r *running) feed(items []delivery.Item) {
	r.feeders.Go(func() {
		for _, it := range items {
			select {
			case r.in <- it:
			case <-r.quit:
				return
			}
		}
	})
}

// runBacklog runs a publisher over items that all wait before it starts,
// until it has settled them all.
func runBacklog(t *testing.T, url string, l publish.Limits, items []delivery.Item) {
	t.Helper()
	in := make(chan delivery.Item, len(items))
	for _, it := range items {
		in <- it
	}
	close(in)
	client := publish.NewClient(url, token, 5*time.Second, time.Second, l.InFlight)
	done := make(chan struct{})
	go func() {
		defer close(done)
		publish.New(client, l, zerolog.Nop(), metrics.New(), health.New(nil)).Run(context.Background(), in)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the publisher did not settle a backlog within 10s")
	}
}

// send hands items to the publisher as the consumer does.
func (r *running) send(t *testing.T, items ...delivery.Item) {
	t.Helper()
	for _, it := range items {
		select {
		case r.in <- it:
		case <-time.After(5 * time.Second):
			t.Fatal("the publisher took no item for 5s")
		}
	}
}

// stop ends the input, as a graceful shutdown does, and waits for Run.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.closeIn()
	r.wait(t)
}

func (r *running) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the publisher did not return within 10s")
	}
}

func items(l *ledger, ids []string) []delivery.Item {
	out := make([]delivery.Item, len(ids))
	for i, id := range ids {
		out[i] = l.item(id)
	}
	return out
}

// heldIDs lists the ids Konnect holds.
func heldIDs(k *testkit.Konnect) []string {
	var ids []string
	for _, e := range k.Events() {
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestBatchesAreBounded(t *testing.T) {
	size := len(runJSON(t, "run-00")) // every run-NN encodes to the same length
	big := strings.Repeat("x", 4096)
	tests := map[string]struct {
		limits  func(publish.Limits) publish.Limits
		events  int
		big     bool // events carry data larger than the byte limit
		batches []int
	}{
		"by count": {
			limits:  func(l publish.Limits) publish.Limits { l.Size, l.Linger = 5, time.Hour; return l },
			events:  23,
			batches: []int{3, 5, 5, 5, 5},
		},
		"by bytes, three fit exactly": {
			limits:  func(l publish.Limits) publish.Limits { l.Bytes, l.Linger = 3*size+4, time.Hour; return l },
			events:  10,
			batches: []int{1, 3, 3, 3},
		},
		"by bytes, one byte short of three": {
			limits:  func(l publish.Limits) publish.Limits { l.Bytes, l.Linger = 3*size+3, time.Hour; return l },
			events:  7,
			batches: []int{1, 2, 2, 2},
		},
		"an event larger than the limit goes alone": {
			limits:  func(l publish.Limits) publish.Limits { l.Bytes, l.Linger = 1024, time.Hour; return l },
			events:  3,
			big:     true,
			batches: []int{1, 1, 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k := testkit.NewKonnect(t, sandbox.WithToken(token))
			lim := tc.limits(limits())
			l := newLedger(t)
			ids := runIDs(tc.events)
			its := items(l, ids)
			if tc.big {
				for i := range its {
					its[i].JSON = bytes.Replace(its[i].JSON, []byte(`"summarizer"`), []byte(`"`+big+`"`), 1)
				}
			}
			// A backlog: every event waits before the publisher starts, so
			// batches fill up to their bounds.
			runBacklog(t, k.URL, lim, its)

			l.settledOnce(ids)
			if l.delivered.Load() != int64(len(ids)) {
				t.Errorf("%s, want all %d delivered", l.counts(), len(ids))
			}
			if got := heldIDs(k); !slices.Equal(got, ids) {
				t.Errorf("Konnect holds %v, want %v", got, ids)
			}
			var sizes []int
			for _, r := range k.Requests() {
				sizes = append(sizes, r.Events)
				if r.Events > lim.Size {
					t.Errorf("a request carried %d events, more than BRIDGE_BATCH_SIZE %d", r.Events, lim.Size)
				}
				if r.Bytes > lim.Bytes && r.Events > 1 {
					t.Errorf("a request of %d events had %d bytes, more than BRIDGE_BATCH_BYTES %d", r.Events, r.Bytes, lim.Bytes)
				}
			}
			slices.Sort(sizes)
			if !slices.Equal(sizes, tc.batches) {
				t.Errorf("requests carried %v events, want %v", sizes, tc.batches)
			}
		})
	}
}

// A partial batch goes without waiting for more events: with the input
// open and the batch far from full, a lone event is delivered, and so are
// the next two, in one request or two (as a free sender happens to take
// them: at once when it is free, else together once it is).
func TestPartialBatchesAreSentWhileTheInputStaysOpen(t *testing.T) {
	k := testkit.NewKonnect(t, sandbox.WithToken(token))
	lim := limits()
	lim.Size, lim.Linger = 100, 50*time.Millisecond
	p := startPublisher(t, k.URL, token, lim, nil, zerolog.Nop())
	l := newLedger(t)

	p.send(t, l.item("run-00"))
	testkit.Eventually(t, 5*time.Second, func() bool { return l.delivered.Load() == 1 },
		"a lone event was not delivered within 5s with a 50ms linger (%s)", l.counts())
	p.send(t, l.item("run-01"), l.item("run-02"))
	testkit.Eventually(t, 5*time.Second, func() bool { return l.delivered.Load() == 3 },
		"two more events were not delivered (%s)", l.counts())

	l.settledOnce(runIDs(3))
	if got := heldIDs(k); !slices.Equal(got, runIDs(3)) {
		t.Errorf("Konnect holds %v, want %v", got, runIDs(3))
	}
	reqs := k.Requests()
	if len(reqs) < 2 || len(reqs) > 3 || reqs[0].Events != 1 {
		t.Errorf("requests %+v, want one with the lone event, then the next two in one or two", reqs)
	}
	for _, r := range reqs {
		if r.Status != http.StatusAccepted {
			t.Errorf("request of %d events answered %d, want 202", r.Events, r.Status)
		}
	}
}

func TestKonnectRefusingSomeEventsDeadLettersOnlyThose(t *testing.T) {
	tests := map[string]struct {
		events int
		bad    []string
	}{
		"one of ten":  {10, []string{"run-07"}},
		"two of ten":  {10, []string{"run-00", "run-09"}},
		"all of four": {4, []string{"run-00", "run-01", "run-02", "run-03"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k := testkit.NewKonnect(t, sandbox.WithToken(token), sandbox.WithReject(func(e sandbox.Event) string {
				if slices.Contains(tc.bad, e.ID) {
					return "customer " + e.Subject + " has no subscription for " + e.ID
				}
				return ""
			}))
			lim := limits()
			lim.Size, lim.Linger = tc.events, time.Hour // one batch holding all
			p := startPublisher(t, k.URL, token, lim, nil, zerolog.Nop())
			l := newLedger(t)
			ids := runIDs(tc.events)
			p.send(t, items(l, ids)...)
			testkit.Eventually(t, 10*time.Second, func() bool { return l.outcomes.Load() == int64(tc.events) },
				"not every event settled (%s)", l.counts())

			l.settledOnce(ids)
			var good []string
			for _, id := range ids {
				o := l.outcome(id)
				if !slices.Contains(tc.bad, id) {
					good = append(good, id)
					if o.Fate != delivery.Delivered {
						t.Errorf("%s: %v (%s), want delivered", id, o.Fate, o.Reason)
					}
					continue
				}
				if o.Fate != delivery.DeadLetter || o.Status != http.StatusBadRequest {
					t.Errorf("%s: %v %d, want rejected with 400", id, o.Fate, o.Status)
				}
				if want := "has no subscription for " + id; !strings.Contains(o.Reason, want) {
					t.Errorf("%s: reason %q, want Konnect's detail %q", id, o.Reason, want)
				}
			}
			if got := heldIDs(k); !slices.Equal(got, good) {
				t.Errorf("Konnect holds %v, want %v", got, good)
			}
		})
	}
}

// TestOutageHoldsEverythingUntilTheTokenWorks: Konnect refuses the token
// (expired, say); nothing is delivered, dead-lettered or handed back while
// the operator fixes it, readiness says why, and delivery resumes by itself.
func TestOutageHoldsEverythingUntilTheTokenWorks(t *testing.T) {
	const renewed = "spat_renewed_by_the_operator"
	k := testkit.NewKonnect(t, sandbox.WithToken("spat_what_konnect_expects"))
	h, authWent := authTrail()
	lim := limits()
	lim.Size, lim.RetryBudget = 3, 200*time.Millisecond // an outage does not spend the retry budget
	p := startPublisher(t, k.URL, renewed, lim, h, zerolog.Nop())
	l := newLedger(t)
	ids := runIDs(10)
	p.feed(items(l, ids))

	refused := func() int {
		n := 0
		for _, r := range k.Requests() {
			if r.Status == http.StatusUnauthorized {
				n++
			}
		}
		return n
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return refused() >= 6 },
		"Konnect refused %d requests; want the bridge to keep probing", refused())
	if n := l.outcomes.Load(); n != 0 {
		t.Fatalf("during the outage %s; want nothing settled", l.counts())
	}
	status := component(h, health.KonnectAuth)
	if status.Ready || !strings.Contains(status.Reason, "KONNECT_TOKEN") {
		t.Errorf("konnect_auth %+v, want not ready with a reason naming KONNECT_TOKEN", status)
	}
	// As /readyz and the status page show it: who answered, how, in what shape.
	u, _ := url.Parse(k.URL)
	if want := "Konnect at " + u.Host + ` answered 401 Unauthorized (Content-Type "application/problem+json", title "Unauthorized")`; !strings.Contains(status.Reason, want) {
		t.Errorf("konnect_auth reason %q, want it to say %q", status.Reason, want)
	}
	if strings.Contains(status.Reason, renewed) || strings.Contains(status.Reason, "spat_what_konnect_expects") {
		t.Errorf("the readiness reason shows a token: %q", status.Reason)
	}

	k.SetToken(renewed) // the operator grants the token, or issues the expected one
	testkit.Eventually(t, 10*time.Second, func() bool { return l.delivered.Load() == int64(len(ids)) },
		"after the fix, %s", l.counts())
	l.settledOnce(ids)
	if got := heldIDs(k); !slices.Equal(got, ids) {
		t.Errorf("Konnect holds %v, want %v", got, ids)
	}
	for _, c := range []health.Component{health.KonnectAuth, health.KonnectReachable} {
		if s := component(h, c); !s.Ready {
			t.Errorf("%s still not ready after delivery resumed: %s", c, s.Reason)
		}
	}
	if got := authWent(); !slices.Equal(got, []bool{true, false, true}) {
		t.Errorf("konnect_auth went %v, want ready, then not ready, then ready again", got)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// component is what readiness says about c.
func component(h *health.Health, c health.Component) health.Status {
	for _, s := range h.Report().Components {
		if s.Component == c {
			return s
		}
	}
	return health.Status{Component: c, Reason: "not reported"}
}

// logSignal closes a channel when the publisher logs a line containing want.
type logSignal struct {
	want string
	once sync.Once
	seen chan struct{}
}

func (s *logSignal) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(s.want)) {
		s.once.Do(func() { close(s.seen) })
	}
	return len(p), nil
}

// TestRetryAfterPausesEveryWorker: Konnect answers 503 with Retry-After: 1
// to one request while three more are in flight; once the bridge has taken
// the 503 in, those three are accepted, and no worker sends anything more
// for that second. Then everything is delivered.
func TestRetryAfterPausesEveryWorker(t *testing.T) {
	const inFlight = 4
	retrying := &logSignal{want: "retrying", seen: make(chan struct{})}
	var (
		arrived     atomic.Int32
		allIn       = make(chan struct{})
		takenIn     = make(chan struct{})
		answeredAt  atomic.Int64
		retryAfter1 = sandbox.Answer(http.StatusServiceUnavailable, time.Second)
	)
	k := testkit.NewKonnect(t, sandbox.WithToken(token))
	lim := limits()
	lim.Size, lim.InFlight, lim.RetryBudget = 1, inFlight, 10*time.Second
	p := startPublisher(t, k.URL, token, lim, nil, zerolog.New(retrying))
	k.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		n := arrived.Add(1)
		if n == inFlight {
			close(allIn)
		}
		wait := func(c <-chan struct{}) {
			select {
			case <-c:
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
		switch {
		case n == 1: // answered once every worker has a request in flight
			wait(allIn)
			answeredAt.Store(time.Now().UnixNano())
			return retryAfter1(w, r)
		case n <= inFlight: // accepted once the 503 was taken in
			wait(takenIn)
		}
		return false
	})
	// The 503 is taken in when the publisher counts the retry; it logs
	// "retrying" right after setting the pause. Waiting for the log alone
	// would let a worker that sleeps on its own hide that the others do not
	// pause, so the others go on 200ms after the count at the latest.
	retries := p.metrics.Retries.WithLabelValues("server_error")
	go func() {
		defer close(takenIn)
		for counterValue(retries) == 0 {
			select {
			case <-p.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		select {
		case <-retrying.seen:
		case <-time.After(200 * time.Millisecond):
		}
	}()
	l := newLedger(t)
	ids := runIDs(12)
	p.feed(items(l, ids))
	testkit.Eventually(t, 15*time.Second, func() bool { return l.delivered.Load() == int64(len(ids)) },
		"not everything was delivered after the pause: %s", l.counts())
	l.settledOnce(ids)

	if arrived.Load() < inFlight {
		t.Fatalf("only %d requests reached Konnect", arrived.Load())
	}
	pausedAt := time.Unix(0, answeredAt.Load())
	later := 0
	for _, r := range k.Requests() {
		if r.Fault || !r.At.After(pausedAt) {
			continue // the 503 itself, and the requests already in flight
		}
		later++
		if gap := r.At.Sub(pausedAt); gap < 900*time.Millisecond {
			t.Errorf("a request reached Konnect %s after its 503 with Retry-After: 1", gap)
		}
	}
	if later < len(ids)-inFlight+1 {
		t.Errorf("%d requests after the 503, want at least %d (the retried batch and the ones waiting)", later, len(ids)-inFlight+1)
	}
}

func TestRetryBudgetSpentHandsTheEventsBack(t *testing.T) {
	tests := map[string]struct {
		fault sandbox.Fault
		says  string
	}{
		"Konnect keeps failing":              {sandbox.Answer(http.StatusInternalServerError, 0), "500"},
		"the connection keeps dropping":      {sandbox.Drop(), ""},
		"Retry-After longer than the budget": {sandbox.Answer(http.StatusTooManyRequests, 30*time.Second), "429"},
		"gateway timeouts":                   {sandbox.Answer(http.StatusGatewayTimeout, 0), "504"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k := testkit.NewKonnect(t, sandbox.WithToken(token), sandbox.WithFault(tc.fault))
			lim := limits()
			// One event, one batch: a second one sent after the first was
			// answered Retry-After: 30 would rightly wait out the pause at
			// the gate.
			lim.Size, lim.Linger, lim.RetryBudget, lim.NakDelay = 4, time.Hour, 300*time.Millisecond, 7*time.Second
			p := startPublisher(t, k.URL, token, lim, nil, zerolog.Nop())
			l := newLedger(t)
			ids := runIDs(1)
			p.send(t, items(l, ids)...)
			l.handedBackAfterBudget(t, ids, lim.NakDelay)
			for _, id := range ids {
				if o := l.outcome(id); !strings.Contains(o.Reason, tc.says) {
					t.Errorf("%s: reason %q does not say %q", id, o.Reason, tc.says)
				}
			}
			if n := len(k.Events()); n != 0 {
				t.Errorf("Konnect holds %d events", n)
			}
		})
	}
}

// TestShutdownHandsBackEverythingUndelivered: when the bridge stops (its
// context ends), every event Konnect has not accepted is handed back for
// redelivery, whatever it was waiting for, and nothing is lost.
func TestShutdownHandsBackEverythingUndelivered(t *testing.T) {
	type waitFor func(t *testing.T, k *testkit.Konnect, p *running, arrivals *atomic.Int32)
	inFlight := func(t *testing.T, k *testkit.Konnect, p *running, arrivals *atomic.Int32) {
		testkit.Eventually(t, 5*time.Second, func() bool { return arrivals.Load() >= 2 }, "%d requests reached Konnect, want 2", arrivals.Load())
	}
	tests := map[string]struct {
		first  int // delivered before the trouble starts
		fault  sandbox.Fault
		token  string
		size   int
		linger time.Duration
		wait   waitFor
		// Konnect may store a request the bridge gave up on: the events
		// are handed back all the same and deduplicated when resent.
		mayBeStored bool
	}{
		"while Konnect is slow": {fault: sandbox.Delay(time.Minute), wait: inFlight, mayBeStored: true},
		"after some were delivered": {
			first: 4, fault: sandbox.Delay(time.Minute), wait: inFlight, mayBeStored: true,
		},
		"during an outage": {
			token: "spat_refused", wait: func(t *testing.T, k *testkit.Konnect, p *running, _ *atomic.Int32) {
				testkit.Eventually(t, 5*time.Second, func() bool { return !component(p.health, health.KonnectAuth).Ready }, "konnect_auth never went not ready")
			},
		},
		"during a Retry-After pause": {
			// The first 503 holds the other worker too: one request may be all.
			fault: sandbox.Answer(http.StatusServiceUnavailable, time.Minute),
			wait: func(t *testing.T, k *testkit.Konnect, p *running, arrivals *atomic.Int32) {
				testkit.Eventually(t, 5*time.Second, func() bool { return len(k.Requests()) >= 1 }, "no request reached Konnect")
			},
		},
		"while the batch is being filled": {
			// A free sender takes the first event at once (and Konnect holds
			// it); the others wait in a batch that will never fill.
			size: 100, linger: time.Hour, fault: sandbox.Delay(time.Minute), mayBeStored: true,
			wait: func(t *testing.T, k *testkit.Konnect, p *running, arrivals *atomic.Int32) {
				testkit.Eventually(t, 5*time.Second, func() bool { return arrivals.Load() >= 1 }, "no request reached Konnect")
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var arrivals atomic.Int32
			k := testkit.NewKonnect(t, sandbox.WithToken(token))
			lim := limits()
			lim.Size, lim.InFlight, lim.RetryBudget = 2, 2, time.Minute
			if tc.size > 0 {
				lim.Size, lim.Linger = tc.size, tc.linger
			}
			tok := token
			if tc.token != "" {
				tok = tc.token
			}
			l := newLedger(t)
			p := startPublisher(t, k.URL, token, lim, nil, zerolog.Nop())
			if tc.first > 0 {
				p.send(t, items(l, runIDs(tc.first))...)
				testkit.Eventually(t, 5*time.Second, func() bool { return l.delivered.Load() == int64(tc.first) }, "first events: %s", l.counts())
			}
			if tok != token {
				k.SetToken(tok)
			}
			if tc.fault != nil {
				k.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
					arrivals.Add(1)
					return tc.fault(w, r)
				})
			}
			// A batch in flight on each worker and one being filled: as
			// many as the publisher surely takes in before it stops
			// taking more (a free worker takes a batch of one at once).
			ids := runIDs(tc.first + 4)
			p.send(t, items(l, ids[tc.first:])...)
			tc.wait(t, k, p, &arrivals)

			// Everything is handed back when the deadline passes, before
			// the input is closed.
			p.cancel()
			testkit.Eventually(t, 5*time.Second, func() bool { return l.outcomes.Load() == int64(len(ids)) },
				"when the publisher's context ended, %s of %d events", l.counts(), len(ids))
			p.stop(t)
			l.settledOnce(ids)
			if l.delivered.Load() != int64(tc.first) || l.retry.Load() != 4 || l.rejected.Load() != 0 {
				t.Errorf("%s, want %d delivered and 4 handed back", l.counts(), tc.first)
			}
			for _, id := range ids[tc.first:] {
				if o := l.outcome(id); o.Fate != delivery.HandBack {
					t.Errorf("%s: %v, want handed back", id, o.Fate)
				}
			}
			got := heldIDs(k)
			for _, id := range ids[:tc.first] {
				if !slices.Contains(got, id) {
					t.Errorf("Konnect does not hold %s, which it accepted", id)
				}
			}
			if !tc.mayBeStored && len(got) != tc.first {
				t.Errorf("Konnect holds %v, want %v", got, ids[:tc.first])
			}
		})
	}
}

// TestRetryAfterNowWaitsTheBackoff: Konnect (or a proxy) keeps answering 503
// with a Retry-After that has already passed. The bridge still waits its
// backoff between tries instead of sending again at once, until its retry
// budget is spent and the events are handed back.
func TestRetryAfterNowWaitsTheBackoff(t *testing.T) {
	tests := map[string]string{
		"Retry-After: 0":          "0",
		"Retry-After in the past": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat),
	}
	for name, retryAfter := range tests {
		t.Run(name, func(t *testing.T) {
			k := testkit.NewKonnect(t, sandbox.WithToken(token), sandbox.WithFault(func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Retry-After", retryAfter)
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}))
			lim := limits()
			lim.Size, lim.Linger, lim.InFlight, lim.RetryBudget = 4, time.Hour, 1, 500*time.Millisecond
			p := startPublisher(t, k.URL, token, lim, nil, zerolog.Nop())
			l := newLedger(t)
			ids := runIDs(1)
			p.send(t, items(l, ids)...)
			l.handedBackAfterBudget(t, ids, lim.NakDelay)
			// Every wait is at least half of the 50ms backoff cap, so a
			// 500ms budget allows about 20 tries. Without the backoff the
			// bridge sends thousands.
			if n := len(k.Requests()); n > 25 {
				t.Errorf("the bridge sent %d requests in a 500ms retry budget: it does not wait between tries", n)
			}
		})
	}
}

// TestLongRetryAfterShowsInReadiness: Konnect asks for a pause of two
// minutes. Readiness says konnect_reachable is not ready, until when and
// why, and the next delivery (a request that was already on its way) clears it.
func TestLongRetryAfterShowsInReadiness(t *testing.T) {
	var (
		arrived  atomic.Int32
		bothIn   = make(chan struct{})
		released = make(chan struct{})
	)
	k := testkit.NewKonnect(t, sandbox.WithToken(token))
	k.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
		wait := func(c <-chan struct{}) {
			select {
			case <-c:
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
		switch arrived.Add(1) {
		case 1: // answered once the other request is on its way too
			wait(bothIn)
			return sandbox.Answer(http.StatusServiceUnavailable, 2*time.Minute)(w, r)
		case 2: // accepted once the test saw what readiness says
			close(bothIn)
			wait(released)
		}
		return false
	})
	h := health.New(nil)
	lim := limits()
	lim.Size, lim.InFlight = 1, 2
	p := startPublisher(t, k.URL, token, lim, h, zerolog.Nop())
	l := newLedger(t)
	ids := runIDs(2)
	p.send(t, items(l, ids)...)

	testkit.Eventually(t, 10*time.Second, func() bool { return !component(h, health.KonnectReachable).Ready },
		"konnect_reachable stayed ready while Konnect asked for a two-minute pause")
	status := component(h, health.KonnectReachable)
	if !strings.Contains(status.Reason, "Konnect asked to wait until") || !strings.Contains(status.Reason, "(Retry-After)") {
		t.Errorf("konnect_reachable reason %q, want it to say Konnect asked to wait until a time (Retry-After)", status.Reason)
	}
	close(released)
	testkit.Eventually(t, 10*time.Second, func() bool { return l.delivered.Load() == 1 }, "the request on its way was not delivered: %s", l.counts())
	if s := component(h, health.KonnectReachable); !s.Ready {
		t.Errorf("konnect_reachable still not ready after a delivery: %s", s.Reason)
	}
	// The pause is longer than the retry budget: the refused event goes
	// back to JetStream, the other was delivered.
	testkit.Eventually(t, 10*time.Second, func() bool { return l.outcomes.Load() == 2 }, "%s", l.counts())
	if l.retry.Load() != 1 {
		t.Errorf("%s, want the event refused with Retry-After handed back", l.counts())
	}
}

// TestEventsArrivingAfterTheDeadlineAreHandedBack: when the stop deadline
// passes, the consumer may still hand the publisher a few events before it
// stops. Each is handed back at once, so its message is redelivered rather
// than left unsettled until AckWait; Run returns once the input is closed.
func TestEventsArrivingAfterTheDeadlineAreHandedBack(t *testing.T) {
	k := testkit.NewKonnect(t, sandbox.WithToken(token))
	lim := limits()
	lim.Size, lim.Linger = 100, time.Hour // the first event waits in its batch
	p := startPublisher(t, k.URL, token, lim, nil, zerolog.Nop())
	l := newLedger(t)
	ids := runIDs(6)
	p.send(t, l.item(ids[0]))
	p.cancel()
	// The first event may reach a free sender before the deadline (an
	// idle publisher sends at once) and be delivered; else it waits in
	// the batch being filled and is handed back with it.
	testkit.Eventually(t, 5*time.Second, func() bool { return l.outcomes.Load() == 1 },
		"the event in the batch being filled was neither delivered nor handed back at the deadline")
	first, before := l.outcome(ids[0]), len(k.Requests())
	if first.Fate != delivery.HandBack && !(first.Fate == delivery.Delivered && before == 1) {
		t.Errorf("%s: %v after %s with %d request(s), want delivered before the deadline or handed back at it", ids[0], first.Fate, first.Delay, before)
	}

	p.send(t, items(l, ids[1:])...)
	testkit.Eventually(t, 5*time.Second, func() bool { return l.outcomes.Load() == int64(len(ids)) },
		"events arriving after the deadline: %s, want all %d handed back", l.counts(), len(ids))
	select {
	case <-p.done:
		t.Error("the publisher returned before its input was closed")
	default:
	}
	p.stop(t)
	l.settledOnce(ids)
	for _, id := range ids[1:] {
		if o := l.outcome(id); o.Fate != delivery.HandBack || o.Delay != 0 {
			t.Errorf("%s: %v after %s, want handed back for redelivery at once", id, o.Fate, o.Delay)
		}
	}
	if n := len(k.Requests()); n != before {
		t.Errorf("%d requests reached Konnect after the deadline", n-before)
	}
}

// TestTransientFailuresDuringAnOutageKeepItHeld: Konnect refuses the token;
// while the bridge probes, Konnect also fails on the way (a 503, a dropped
// connection). That says nothing about the token: the outage holds, nothing
// is settled, konnect_auth stays not ready, and once the token is fixed
// delivery resumes.
func TestTransientFailuresDuringAnOutageKeepItHeld(t *testing.T) {
	const renewed = "spat_renewed_by_the_operator"
	tests := map[string]sandbox.Fault{
		"Konnect answers 503":  sandbox.Answer(http.StatusServiceUnavailable, 0),
		"Konnect answers 502":  sandbox.Answer(http.StatusBadGateway, 0),
		"the connection drops": sandbox.Drop(),
	}
	for name, fault := range tests {
		t.Run(name, func(t *testing.T) {
			k := testkit.NewKonnect(t, sandbox.WithToken("spat_what_konnect_expects"))
			h, authWent := authTrail()
			lim := limits()
			lim.Size, lim.RetryBudget = 3, 200*time.Millisecond
			p := startPublisher(t, k.URL, renewed, lim, h, zerolog.Nop())
			l := newLedger(t)
			ids := runIDs(10)
			p.feed(items(l, ids))
			testkit.Eventually(t, 10*time.Second, func() bool { return !component(h, health.KonnectAuth).Ready },
				"konnect_auth never went not ready with a refused token")

			var failed atomic.Int32
			k.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
				failed.Add(1)
				return fault(w, r)
			})
			testkit.Eventually(t, 10*time.Second, func() bool { return failed.Load() >= 5 },
				"only %d probes reached Konnect while it failed", failed.Load())
			if got := authWent(); !slices.Equal(got, []bool{true, false}) {
				t.Errorf("konnect_auth went %v while Konnect failed transiently, want ready then not ready, and no more", got)
			}
			if s := component(h, health.KonnectAuth); s.Ready || !strings.Contains(s.Reason, "KONNECT_TOKEN") {
				t.Errorf("konnect_auth %+v, want not ready naming KONNECT_TOKEN", s)
			}
			if n := l.outcomes.Load(); n != 0 {
				t.Errorf("during the outage %s; want nothing settled", l.counts())
			}

			k.SetFault(nil)
			k.SetToken(renewed)
			testkit.Eventually(t, 10*time.Second, func() bool { return l.delivered.Load() == int64(len(ids)) },
				"after the fix, %s", l.counts())
			l.settledOnce(ids)
			if got := heldIDs(k); !slices.Equal(got, ids) {
				t.Errorf("Konnect holds %v, want %v", got, ids)
			}
			if got := authWent(); !slices.Equal(got, []bool{true, false, true}) {
				t.Errorf("konnect_auth went %v, want ready, then not ready, then ready again", got)
			}
		})
	}
}

// authTrail is readiness that records every change of konnect_auth; went
// returns them in order.
func authTrail() (h *health.Health, went func() []bool) {
	var (
		mu   sync.Mutex
		auth []bool
	)
	h = health.New(func(c health.Component, ready bool) {
		if c == health.KonnectAuth {
			mu.Lock()
			auth = append(auth, ready)
			mu.Unlock()
		}
	})
	return h, func() []bool { mu.Lock(); defer mu.Unlock(); return slices.Clone(auth) }
}

// handedBackAfterBudget waits until every event has its outcome and checks
// each was handed back, once, to be redelivered after nakDelay.
func (l *ledger) handedBackAfterBudget(t *testing.T, ids []string, nakDelay time.Duration) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() bool { return l.outcomes.Load() == int64(len(ids)) },
		"the events were not handed back once the budget was spent (%s)", l.counts())
	l.settledOnce(ids)
	for _, id := range ids {
		if o := l.outcome(id); o.Fate != delivery.HandBack || o.Delay != nakDelay {
			t.Errorf("%s: %v after %s, want handed back after BRIDGE_NAK_DELAY %s", id, o.Fate, o.Delay, nakDelay)
		}
	}
}

// TestAnIdleBridgeSendsAtOnce: with adaptive concurrency and nothing else
// waiting, an event goes to Konnect as soon as a sender is free, not after
// BRIDGE_LINGER, and the concurrency limit starts at one request.
func TestAnIdleBridgeSendsAtOnce(t *testing.T) {
	k := testkit.NewKonnect(t, sandbox.WithToken(token))
	lim := limits()
	lim.Linger, lim.InFlight, lim.FixedConcurrency = time.Hour, 8, false
	p := startPublisher(t, k.URL, token, lim, nil, zerolog.Nop())
	if got := gaugeValue(p.metrics.ConcurrencyLimit); got != 1 {
		t.Errorf("konnect_bridge_request_concurrency_limit starts at %v, want 1", got)
	}
	l := newLedger(t)
	ids := runIDs(1)
	p.send(t, items(l, ids)...)
	testkit.Eventually(t, 5*time.Second, func() bool { return l.delivered.Load() == 1 }, "an event waited for its batch to fill: %s", l.counts())
	if got := heldIDs(k); !slices.Equal(got, ids) {
		t.Errorf("Konnect holds %v, want %v", got, ids)
	}
}

func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		return 0
	}
	return m.GetGauge().GetValue()
}

// TestRetryAfterRenewedIsOnePause: Konnect asks to wait again and again,
// five times in a row, then takes the event. That is one run of pauses:
// konnect_pauses_total counts 1, not one per answer, and the paused-until
// gauge holds the last time asked for. The event is delivered once.
func TestRetryAfterRenewedIsOnePause(t *testing.T) {
	const renewals = 5
	var asked atomic.Int32
	k := testkit.NewKonnect(t, sandbox.WithToken(token), sandbox.WithFault(func(w http.ResponseWriter, r *http.Request) bool {
		if asked.Add(1) > renewals {
			return false
		}
		w.Header().Set("Retry-After-Ms", "50")
		return sandbox.Answer(http.StatusTooManyRequests, 0)(w, r)
	}))
	lim := limits()
	lim.Size, lim.InFlight = 1, 1
	p := startPublisher(t, k.URL, token, lim, nil, zerolog.Nop())
	l := newLedger(t)
	ids := runIDs(1)
	start := time.Now()
	p.send(t, items(l, ids)...)
	testkit.Eventually(t, 10*time.Second, func() bool { return l.delivered.Load() == 1 }, "after %d pauses, %s", renewals, l.counts())
	l.settledOnce(ids)
	if n := asked.Load(); n != renewals+1 {
		t.Errorf("Konnect was asked %d times, want %d (five pauses, then the delivery)", n, renewals+1)
	}
	if got := counterValue(p.metrics.Pauses); got != 1 {
		t.Errorf("konnect_pauses_total = %v after one run of %d renewed pauses, want 1", got, renewals)
	}
	if got := gaugeValue(p.metrics.PausedUntil); got < float64(start.Unix()) || got > float64(time.Now().Unix()+1) {
		t.Errorf("konnect_paused_until_seconds = %v, want the last pause's end, between the start and now", got)
	}
}
