package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/deadletter"
)

// rssWatch samples the bridge's RSS every 50ms during a phase, keeps the
// largest, and kills the bridge once it passes limit, so that input the
// bridge does not bound cannot take the machine with it.
type rssWatch struct {
	p     *bridgeProc
	limit int64
	quit  chan struct{}
	done  chan struct{}

	// Read only after stop.
	max      int64 // the largest VmRSS sampled
	hwm      int64 // VmHWM as last read: the process's peak so far
	killedAt int64 // VmRSS when the bench killed the bridge, 0 if it did not
}

const rssEvery = 50 * time.Millisecond

func watchRSS(p *bridgeProc, limit int64) *rssWatch {
	w := &rssWatch{p: p, limit: limit, quit: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *rssWatch) run() {
	defer close(w.done)
	t := time.NewTicker(rssEvery)
	defer t.Stop()
	for {
		if st, err := w.p.stats(); err == nil {
			w.max, w.hwm = max(w.max, st.rss), max(w.hwm, st.peakRSS)
			if st.rss > w.limit {
				w.killedAt = st.rss
				w.p.kill()
				return
			}
		}
		select {
		case <-w.quit:
			return
		case <-w.p.exited:
			return
		case <-t.C:
		}
	}
}

// stop ends the sampling; the fields can be read after it returns.
func (w *rssWatch) stop() {
	close(w.quit)
	<-w.done
}

// settled is the state of the pipeline when a phase ended.
type settled struct {
	missing []string // good events the sink does not hold
	// idle: the consumer has nothing left to deliver and nothing in the
	// bridge (NumPending and NumAckPending both 0).
	idle                bool
	pending, ackPending uint64
}

// idleFor is how long the pipeline must stay idle, with good events still
// missing, before they count as lost.
const idleFor = time.Second

// settle polls until every good event in ids reached the sink and the
// pipeline is idle, until the bridge exits, or until deadline.
func settle(ctx context.Context, js jetstream.JetStream, snk *sink, p *bridgeProc, ids []string, deadline time.Time) settled {
	s := settled{missing: ids}
	var idleSince time.Time
	for {
		s.missing = snk.missing(goodSource, s.missing)
		s.pending, s.ackPending, s.idle = consumerState(ctx, js)
		if !s.idle {
			idleSince = time.Time{}
		} else if idleSince.IsZero() {
			idleSince = time.Now()
		}
		switch {
		case s.idle && len(s.missing) == 0, s.idle && time.Since(idleSince) >= idleFor:
			return s
		case ctx.Err() != nil, time.Now().After(deadline):
			return s
		}
		select {
		case <-p.exited:
			s.missing = snk.missing(goodSource, s.missing)
			return s
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// consumerState is what the bridge's durable consumer has left: messages
// not yet delivered to the bridge, and messages the bridge has not settled.
func consumerState(ctx context.Context, js jetstream.JetStream) (pending, ackPending uint64, idle bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, streamName, config.Defaults().Bridge.Consumer)
	if err != nil {
		return 0, 0, false
	}
	info := c.CachedInfo()
	return info.NumPending, uint64(info.NumAckPending), info.NumPending == 0 && info.NumAckPending == 0
}

// deadLetters is how many messages the dead-letter stream holds (0 when
// the bridge has not created it yet).
func deadLetters(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, config.Defaults().Bridge.DLQStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return s.CachedInfo().State.Msgs, nil
}

// deadLetterKinds counts the dead letters from sequence first to last by
// their kind.
func deadLetterKinds(ctx context.Context, js jetstream.JetStream, first, last uint64) (map[string]int, error) {
	count := map[string]int{}
	if first > last {
		return count, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, config.Defaults().Bridge.DLQStream)
	if err != nil {
		return nil, err
	}
	for seq := first; seq <= last; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("dead letter %d: %w", seq, err)
		}
		count[m.Header.Get(deadletter.HeaderKind)]++
	}
	return count, nil
}
