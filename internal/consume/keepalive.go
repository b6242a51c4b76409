package consume

import (
	"context"
	"sync"
	"time"
)

// keepAlive tells JetStream that messages still in the bridge are being
// worked on, so that a batch waiting or retrying is not redelivered to
// another replica when AckWait runs out. Each message's settler knows how
// (a message of a stream replaced by another of the same name is left
// alone: its signal would go, by name, to the new stream's message of the
// same sequence).
type keepAlive struct {
	mu   sync.Mutex
	msgs map[*message]struct{}
}

func newKeepAlive() *keepAlive {
	return &keepAlive{msgs: map[*message]struct{}{}}
}

func (k *keepAlive) add(m *message) {
	k.mu.Lock()
	k.msgs[m] = struct{}{}
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
	var held []*message
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.mu.Lock()
		held = held[:0]
		for m := range k.msgs {
			held = append(held, m)
		}
		k.mu.Unlock()
		for _, m := range held {
			m.s.progress()
		}
	}
}
