package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// drained is what a drain measured.
type drained struct {
	rate         float64       // events/s from the first to the last new event at the sink
	window, wall time.Duration // first to last new event; the bridge's start to the last
	cpu          time.Duration // the bridge's user and system time during the drain
	benchCPU     time.Duration // the same for the bench process: NATS, the sink, the bench
	mallocs, gcs uint64        // the bridge's heap allocations and GC cycles
	peakRSS, rss int64
}

// drain waits until the sink holds n distinct events and measures the
// bridge meanwhile.
func drain(b *bridgeProc, snk *sink, n int) (drained, error) {
	var d drained
	start := time.Now()
	before, err := b.stats()
	if err != nil {
		return d, err
	}
	benchBefore := selfCPU()
	rtBefore, err := b.goRuntime()
	if err != nil {
		return d, err
	}
	within := time.Minute + time.Duration(n)*100*time.Microsecond
	if !snk.waitDistinct(n, within) {
		return d, fmt.Errorf("after %s the sink holds %d of %d events (%d requests, %d rejected)", within, snk.distinct.Load(), n, snk.requests.Load(), snk.rejected.Load())
	}
	after, err := b.stats()
	if err != nil {
		return d, err
	}
	d.benchCPU = selfCPU() - benchBefore
	rtAfter, err := b.goRuntime()
	if err != nil {
		return d, err
	}
	d.mallocs, d.gcs = rtAfter.mallocs-rtBefore.mallocs, rtAfter.gcs-rtBefore.gcs
	first, last := snk.window()
	d.window, d.wall = last.Sub(first), last.Sub(start)
	d.rate = float64(n) / d.window.Seconds()
	d.cpu = after.cpu - before.cpu
	d.peakRSS, d.rss = after.peakRSS, after.rss
	if r := snk.rejected.Load(); r > 0 {
		return d, fmt.Errorf("the sink rejected %d requests: the bridge sent what Konnect would refuse", r)
	}
	return d, nil
}

// latencies summarises publish-to-ingest times.
type latencies struct {
	n             int
	p50, p99, max time.Duration
}

// latency publishes at a steady rate for d and measures how long each
// event took from its publish to the sink.
func latency(ctx context.Context, js jetstream.JetStream, snk *sink, perSecond int, d time.Duration) (latencies, error) {
	var l latencies
	sent, err := publishAtRate(ctx, js, perSecond, d)
	if err != nil {
		return l, err
	}
	deadline := time.Now().Add(30 * time.Second)
	took := make([]time.Duration, 0, len(sent))
	for i := 0; i < len(sent); {
		at := snk.arrival(i)
		if at.IsZero() {
			if time.Now().After(deadline) {
				return l, fmt.Errorf("latency event %d of %d did not arrive in 30s", i, len(sent))
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		took = append(took, at.Sub(sent[i]))
		i++
	}
	if len(took) == 0 {
		return l, fmt.Errorf("no latency events at %d/s for %s", perSecond, d)
	}
	slices.Sort(took)
	l.n = len(took)
	l.p50 = took[len(took)/2]
	l.p99 = took[len(took)*99/100]
	l.max = took[len(took)-1]
	return l, nil
}

// selfCPU is the user and system time of the bench process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// profileSelf starts the bench process's CPU profile into path (none when
// empty) and returns what stops it.
func profileSelf(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
