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
type keepAlive struct {
	mu   sync.Mutex
	msgs map[*message]jetstream.Msg
}

func newKeepAlive() *keepAlive { return &keepAlive{msgs: map[*message]jetstream.Msg{}} }

func (k *keepAlive) add(m *message, msg jetstream.Msg) {
	k.mu.Lock()
	k.msgs[m] = msg
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
	var held []jetstream.Msg
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
		for _, msg := range held {
			_ = msg.InProgress()
		}
	}
}
