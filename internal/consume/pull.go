package consume

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
)

// handBackWait bounds how long a clean stop waits for the messages fetched
// ahead to be handed back.
const handBackWait = 5 * time.Second

// pull reads binding b's consumer until ctx ends, pulling fails, a message
// shows the consumer was replaced or the watcher asks for a rebind, and
// binds again in the last three cases. nats.go calls receive for each
// message on one goroutine of its own; its subscription has no fixed-size
// buffer, so a status message arriving while the prefetched messages wait
// never pushes one of them out.
func (j *JetStream) pull(ctx context.Context, b *binding, out chan<- delivery.Item, rebind chan struct{}) {
	r := newReader(ctx, j, b, out)
	opts := append([]jetstream.PullConsumeOpt{
		jetstream.PullMaxMessagesWithBytesLimit(j.cfg.Prefetch(), j.prefetchBytes()), PullExpiry,
		jetstream.ConsumeErrHandler(r.failed)}, priorityPulls(j.cfg)...)
	cc, err := b.cons.Consume(r.receive, opts...)
	if err != nil {
		j.recover(ctx, err, rebind)
		return
	}
	closed := cc.Closed()
	select {
	case <-ctx.Done():
		// receive hands back what arrives from now on, until drained.
		cc.Drain()
		select {
		case <-closed:
		case <-time.After(handBackWait):
		}
		r.leave(cc)
	case <-rebind:
		r.leave(cc)
		j.rebindNow(ctx, rebind)
	case <-r.replaced:
		// The stream or consumer was replaced: bind to the new one, after
		// a moment, rather than pull the stale one again.
		r.leave(cc)
		if ctx.Err() == nil {
			j.recover(ctx, errReplaced, rebind)
		}
	case <-closed:
		// nats.go stopped by itself: the consumer was deleted, the request
		// refused or the connection closed.
		r.leave(cc)
		j.recover(ctx, r.cause(), rebind)
	}
}

// reader takes the messages of one binding and sends their events on.
type reader struct {
	j      *JetStream
	b      *binding
	out    chan<- delivery.Item
	parent context.Context
	// ctx ends when the bridge leaves the binding; cancel ends it.
	ctx      context.Context
	cancel   context.CancelFunc
	replaced chan struct{}
	// pinned: the consumer pins a replica, and its messages say which.
	pinned bool
	// mu is held while a message is handled, so that leave can wait for
	// the one being handled.
	mu sync.Mutex

	errMu sync.Mutex
	err   error
}

func newReader(ctx context.Context, j *JetStream, b *binding, out chan<- delivery.Item) *reader {
	r := &reader{j: j, b: b, out: out, parent: ctx, replaced: make(chan struct{}, 1), pinned: j.cfg.Bridge.PriorityPolicy == config.PriorityPinned}
	r.ctx, r.cancel = context.WithCancel(ctx)
	return r
}

// receive handles one message. Once the bridge stops, it hands back the
// messages fetched ahead, which were never worked on, so another replica
// gets them now rather than after AckWait. Once the binding is left, it
// leaves them alone, for NATS to redeliver.
func (r *reader) receive(msg jetstream.Msg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pinned {
		r.b.notePin(msg.Headers().Get(pinHeader))
	}
	switch {
	case r.parent.Err() != nil:
		_ = msg.Nak()
	case r.ctx.Err() != nil:
	case !r.j.handle(r.ctx, msg, r.b, r.out):
		r.cancel()
		r.replaced <- struct{}{}
	}
}

// failed records an error nats.go reports; those that end the consumer
// also close it, which pull sees.
func (r *reader) failed(_ jetstream.ConsumeContext, err error) {
	r.errMu.Lock()
	r.err = err
	r.errMu.Unlock()
	if errors.Is(err, jetstream.ErrNoHeartbeat) {
		// nats.go pulls again by itself.
		r.j.log.Debug().Err(err).Msg("missed a pull heartbeat; pulling on")
		return
	}
	r.j.log.Debug().Err(err).Msg("pulling from the consumer")
}

// cause is why nats.go stopped by itself.
func (r *reader) cause() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if r.err == nil {
		return jetstream.ErrMsgIteratorClosed
	}
	return r.err
}

// leave stops cc and returns once no message is being handled: none of
// the binding's events is sent on after it.
func (r *reader) leave(cc jetstream.ConsumeContext) {
	r.cancel()
	cc.Stop()
	// Taking mu waits for the message being handled, if any: cancel made
	// its handling return, and any later one sees ctx ended.
	r.mu.Lock()
	defer r.mu.Unlock()
}
