package consume

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// progressCounter is a settler that counts the progress signals it gets.
type progressCounter struct {
	settler
	n atomic.Int32
}

func (p *progressCounter) progress() { p.n.Add(1) }

// Every message held gets the progress signal, and a message settled (removed)
// gets none from then on, whatever the order they were added and removed in.
func TestKeepAliveSignalsExactlyTheMessagesHeld(t *testing.T) {
	k := newKeepAlive()
	counters := make([]*progressCounter, 5)
	msgs := make([]*message, 5)
	for i := range msgs {
		counters[i] = &progressCounter{}
		msgs[i] = &message{s: counters[i]}
		k.add(msgs[i])
	}
	for _, i := range []int{0, 2, 4, 2} { // removing twice does nothing
		k.remove(msgs[i])
	}
	k.remove(&message{}) // nor does removing one never added
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { k.run(ctx, time.Millisecond); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for counters[1].n.Load() < 3 || counters[3].n.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("held messages signalled %d and %d times in 10s, want 3 each", counters[1].n.Load(), counters[3].n.Load())
		}
		time.Sleep(time.Millisecond)
	}
	k.remove(msgs[1])
	k.add(msgs[0])
	cancel()
	<-done
	for _, i := range []int{2, 4} {
		if n := counters[i].n.Load(); n != 0 {
			t.Errorf("message %d was settled before the keep-alive ran, yet signalled %d times", i, n)
		}
	}
	if got := k.held.next; got != msgs[3] || got.next != msgs[0] || msgs[0].next != &k.held {
		t.Errorf("after the removals and one more add, the held list is not [3, 0]")
	}
}
