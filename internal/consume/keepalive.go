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
	mu sync.Mutex
	// held lists the messages held, linked through their own fields, so
	// that adding and removing one costs no allocation and no hashing.
	held message
}

func newKeepAlive() *keepAlive {
	k := &keepAlive{}
	k.held.prev, k.held.next = &k.held, &k.held
	return k
}

func (k *keepAlive) add(m *message) {
	k.mu.Lock()
	m.prev, m.next = k.held.prev, &k.held
	m.prev.next, k.held.prev = m, m
	k.mu.Unlock()
}

// remove takes m off the list; a message not on it is left alone.
func (k *keepAlive) remove(m *message) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if m.prev == nil {
		return
	}
	m.prev.next, m.next.prev = m.next, m.prev
	m.prev, m.next = nil, nil
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
		for m := k.held.next; m != &k.held; m = m.next {
			held = append(held, m)
		}
		k.mu.Unlock()
		for _, m := range held {
			m.s.progress()
		}
	}
}
