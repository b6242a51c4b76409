package consume

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/wait"
)

// StreamMaxAge is how long a stream the bridge creates keeps messages.
const StreamMaxAge = 7 * 24 * time.Hour

// JetStream reads the durable pull consumer. Bind, then Run.
type JetStream struct {
	js      jetstream.JetStream
	cfg     config.Config
	log     zerolog.Logger
	metrics *metrics.Metrics
	health  *health.Health
	emitter emitter
	alive   *keepAlive

	// current is the binding messages are read through; a rebind
	// replaces it. It is read for every message, so without a lock.
	current atomic.Pointer[binding]

	// mu guards what follows.
	mu sync.Mutex
	// streamSeen is set once a stream was bound: from then on a missing
	// stream disappeared, and is reported rather than created empty.
	streamSeen bool
	// floor is the consumer's last ack floor read, floors the bucket that
	// keeps it across consumer deletions (nil without one) and saved what
	// was last written there.
	floor       ackFloor
	floors      jetstream.KeyValue
	floorsTried bool
	// floorReplicas is how many replicas a bucket created again gets.
	floorReplicas int
	saved         string
}

// binding is the consumer the bridge reads and the identity of the stream
// under it. Messages fetched through it take their ids from streamID, so a
// message always gets the identity of the stream it was read from.
type binding struct {
	cons     jetstream.Consumer
	streamID string
	// created is when the stream was created.
	created time.Time
	// reconnects is the connection's reconnect count when bound (or last
	// checked): a missed deletion can only hide behind a reconnect.
	reconnects atomic.Uint64
	// lastDelivery is the highest consumer (delivery) sequence read
	// through this binding. A consumer's delivery sequence only grows, so
	// a lower one comes from a consumer created again under the same name.
	lastDelivery atomic.Uint64
	// pinID is the pin NATS last delivered to this replica under
	// (pinned_client); nil before any.
	pinID atomic.Pointer[string]
}

// notePin records id, the pin a message was delivered under, if any.
func (b *binding) notePin(id string) {
	if id != "" && b.pin() != id {
		b.pinID.Store(&id)
	}
}

// pin is the pin NATS last delivered to this replica under; "" before any.
func (b *binding) pin() string {
	if p := b.pinID.Load(); p != nil {
		return *p
	}
	return ""
}

func (j *JetStream) bound() *binding { return j.current.Load() }

// NewJetStream reads cfg's stream and consumer through js; r fences
// each event to the subject it arrived on and maps messages, where on.
func NewJetStream(js jetstream.JetStream, cfg config.Config, log zerolog.Logger, m *metrics.Metrics, h *health.Health, dlq *deadletter.DeadLetters, r Rules) *JetStream {
	j := &JetStream{
		js: js, cfg: cfg, log: log, metrics: m, health: h,
		emitter: newEmitter(cfg, dlq, log, m, r),
	}
	j.alive = newKeepAlive()
	return j
}

// PullExpiry bounds each pull request. A pull whose server dies (a
// stream or consumer leader lost in a cluster) is noticed after two missed
// heartbeats, half of it each, and pulled again from the new leader: 5 s
// rather than nats.go's 30 s of standing still.
const PullExpiry = jetstream.PullExpiry(config.PullExpiry)

// Run pulls messages and sends their events to out until ctx ends. The
// consumer prefetches, so the next messages arrive while a batch is being
// delivered. A consumer deleted under the bridge is created again: Run is
// the only one that binds again, when pulling fails or when the consumer
// watcher, which it runs, says the consumer is gone. It returns nil once
// ctx ended and the goroutines it started have returned.
func (j *JetStream) Run(ctx context.Context, out chan<- delivery.Item) error {
	rebind := make(chan struct{}, 1)
	wctx, stopWatch := context.WithCancel(ctx)
	var watcher sync.WaitGroup
	watcher.Go(func() { j.watchConsumer(wctx, rebind) })
	defer func() {
		stopWatch()
		watcher.Wait()
	}()
	for ctx.Err() == nil {
		j.pull(ctx, j.bound(), out, rebind)
	}
	return nil
}

// prefetchBytes bounds one pull in bytes: BRIDGE_PREFETCH_BYTES, but never
// below the largest message the server takes (max_payload, with room for
// the subject and reply), or a message at that size would stall the
// consumer. The consumer holds at most about two pulls.
func (j *JetStream) prefetchBytes() int {
	return max(j.cfg.Batch.PrefetchBytes, int(j.js.Conn().MaxPayload())+64<<10)
}

// KeepAlive signals progress, every third of AckWait, on every message the
// bridge holds, until ctx ends. Run it for as long as the publisher may
// still be delivering, which is past the end of Run on a graceful stop.
func (j *JetStream) KeepAlive(ctx context.Context) {
	j.alive.run(ctx, j.cfg.Batch.AckWait/3)
}

// errReplaced says the stream or consumer a message was pulled through was
// replaced by another of the same name.
var errReplaced = errors.New("the stream or consumer was replaced under the bridge")

// recover waits a moment after a pull failure and binds the consumer again.
func (j *JetStream) recover(ctx context.Context, err error, rebind chan struct{}) {
	j.health.Set(health.Consumer, false, err.Error())
	j.log.Warn().Err(err).Msg("pulling from the consumer failed; binding it again")
	if wait.Sleep(ctx, time.Second) {
		j.rebindNow(ctx, rebind)
	}
}

// rebindNow binds the consumer again, and forgets a request to, which this
// answers.
func (j *JetStream) rebindNow(ctx context.Context, rebind chan struct{}) {
	_ = j.Bind(ctx)
	select {
	case <-rebind:
	default:
	}
}

// handle sends msg's events on, with the identity of the stream of b, the
// binding msg was fetched through. It reports false when msg may come from
// a stream that replaced b's: then it is handed back, for NATS to deliver
// through the new binding, and b must be left.
func (j *JetStream) handle(ctx context.Context, msg jetstream.Msg, b *binding, out chan<- delivery.Item) bool {
	md, err := msg.Metadata()
	if err != nil {
		j.log.Error().Err(err).Str("subject", msg.Subject()).Msg("message without JetStream metadata; leaving it to redeliver")
		return true
	}
	if last := b.lastDelivery.Load(); md.Sequence.Consumer <= last || j.foreign(ctx, b, md.Timestamp) {
		_ = msg.Nak()
		return false
	}
	b.lastDelivery.Store(md.Sequence.Consumer)
	jm := &jsMessage{
		msg: nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()},
		set: jsSettler{msg: msg, md: md, streamID: b.streamID, j: j},
	}
	jm.raw, jm.s, jm.alive = &jm.msg, &jm.set, j.alive
	jm.p = sequenced(b.streamID, md.Sequence.Stream, md.Timestamp)
	j.emitter.emit(ctx, &jm.message, out)
	return true
}

// sequenceID is "<streamID>-<sequence>", built in one allocation.
func sequenceID(streamID string, seq uint64) string {
	var buf [96]byte
	b := append(append(buf[:0], streamID...), '-')
	return string(strconv.AppendUint(b, seq, 10))
}
