package consume

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keepAlive tells JetStream that messages still in the bridge are being
// worked on, so that a batch waiting or retrying is not redelivered to
// another replica when AckWait runs out.
// A message of a stream that was replaced by another of the same name is
// left alone: its signal would go, by name, to the new stream's message of
// the same sequence.
type keepAlive struct {
	// current is the identity of the stream the bridge reads now.
	current func() string

	mu   sync.Mutex
	msgs map[*message]heldMsg
}

type heldMsg struct {
	msg      jetstream.Msg
	streamID string
}

func newKeepAlive(current func() string) *keepAlive {
	return &keepAlive{current: current, msgs: map[*message]heldMsg{}}
}

func (k *keepAlive) add(m *message, msg jetstream.Msg, streamID string) {
	k.mu.Lock()
	k.msgs[m] = heldMsg{msg, streamID}
	k.mu.Unlock()
}

func (k *keepAlive) remove(m *message) {
	k.mu.Lock()
	delete(k.msgs, m)
	k.mu.Unlock()
}

// run signals progress on every held message each interval (a third of
// AckWait) until ctx ends.
func (k *keepAlive) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var held []heldMsg
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.mu.Lock()
		held = held[:0]
		for _, msg := range k.msgs {
			held = append(held, msg)
		}
		k.mu.Unlock()
		current := k.current()
		for _, h := range held {
			if h.streamID == current {
				_ = h.msg.InProgress()
			}
		}
	}
}
