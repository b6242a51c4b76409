package deadletter

import (
	"context"
	"sync"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/health"
)

// The dead-letter stage's bounds: how many messages store their dead
// letters at once, and how many may wait for a turn. A message that finds
// the queue full is handed back with a delay rather than wait.
const (
	storeWorkers = 4
	storeQueue   = 256
)

// Message is a settled message with dead letters, as a consumer hands it
// to Submit. The stage calls exactly one of Finish and HandBack, once.
type Message interface {
	// Letters are the message's dead letters and what they record of it.
	Letters() Letters
	// Finish settles the message by its events' outcomes: every dead
	// letter is stored.
	Finish()
	// HandBack settles the message as handed back after delay, whatever
	// its events' outcomes: its dead letters could not be stored.
	HandBack(delay time.Duration, reason string)
}

// stage stores the dead letters of settled messages on goroutines of its
// own, so a slow or broken dead-letter stream never holds up the pull loop
// or a sender, and bad input never blocks good input.
type stage struct {
	queue chan Message
	// mu guards closed: once it is set, nothing more enters the queue.
	mu      sync.RWMutex
	closed  bool
	stop    chan struct{}
	stopped sync.Once
	done    chan struct{}
}

func newStage() stage {
	return stage{queue: make(chan Message, storeQueue), stop: make(chan struct{}), done: make(chan struct{})}
}

// Submit queues m for storing, never blocking: a full queue, or a stage
// that has stopped, hands m back with a delay.
func (d *DeadLetters) Submit(m Message) {
	s := &d.stage
	s.mu.RLock()
	if !s.closed {
		select {
		case s.queue <- m:
			s.mu.RUnlock()
			return
		default:
		}
	}
	s.mu.RUnlock()
	m.HandBack(d.retryDelay, "dead letters not stored: the dead-letter stage is full or stopped")
}

// Run stores dead letters until ctx ends or Close is called, then hands
// back every message still waiting. Storing stops at ctx's end (the
// shutdown deadline): a message whose dead letters were not all stored is
// handed back, never acked.
func (d *DeadLetters) Run(ctx context.Context) {
	s := &d.stage
	defer close(s.done)
	var workers sync.WaitGroup
	for range storeWorkers {
		workers.Go(func() {
			for {
				select {
				case m := <-s.queue:
					d.store(ctx, m)
				case <-ctx.Done():
					return
				case <-s.stop:
					for {
						select {
						case m := <-s.queue:
							d.store(ctx, m)
						default:
							return
						}
					}
				}
			}
		})
	}
	workers.Wait()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for {
		select {
		case m := <-s.queue:
			m.HandBack(d.retryDelay, "stopping before its dead letters were stored")
		default:
			return
		}
	}
}

// Close says no more messages will be settled: Run stores what is queued
// and returns. Wait waits for that.
func (d *DeadLetters) Close() { d.stage.stopped.Do(func() { close(d.stage.stop) }) }

// Wait returns once Run has returned.
func (d *DeadLetters) Wait() { <-d.stage.done }

// store publishes m's dead letters in order, stopping at the first that
// cannot be stored, within storeTimeout, then settles m: terminated or
// acked once every dead letter is safe, handed back with a delay if not.
func (d *DeadLetters) store(ctx context.Context, m Message) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	ls := m.Letters()
	subject := ls.Origin.Subject
	for _, dl := range ls.Dead {
		if err := d.publish(ctx, d.letter(ls, dl), dl.Kind, subject); err != nil {
			d.metrics.DeadLetterFailures.Inc()
			d.setHealth(false, err.Error())
			d.log.Error().Err(err).Str("subject", subject).Msg("dead letter not stored; handing the message back")
			m.HandBack(d.retryDelay, "dead letter not stored: "+err.Error())
			return
		}
	}
	d.setHealth(true, "")
	m.Finish()
}

func (d *DeadLetters) setHealth(ready bool, reason string) {
	if d.health != nil {
		d.health.Set(health.DeadLetters, ready, reason)
	}
}
