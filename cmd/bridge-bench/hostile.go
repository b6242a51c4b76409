package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// hostileOptions are the flags of the hostile-input mode.
type hostileOptions struct {
	on           bool
	messages     int
	maxPayload   byteSize
	phaseTimeout time.Duration
	rssCap       byteSize
}

func (h *hostileOptions) flags(fs *flag.FlagSet) {
	h.rssCap = 1536 << 20
	fs.BoolVar(&h.on, "hostile", false, "measure only hostile input: messages at the server's max_payload, phase by phase, against a bridge with its default settings")
	fs.IntVar(&h.messages, "hostile-messages", 64, "hostile messages per phase")
	fs.Var(&h.maxPayload, "max-payload", "max_payload of the NATS server, such as 8MiB (default: the server's own, 1 MiB)")
	fs.DurationVar(&h.phaseTimeout, "hostile-phase-timeout", 30*time.Second, "longest a hostile phase waits for its good events and for the pipeline to go idle")
	fs.Var(&h.rssCap, "hostile-rss-cap", "kill the bridge when its RSS passes this, so that the machine stays healthy (default 1.5GiB)")
}

// phaseResult is what one hostile phase measured.
type phaseResult struct {
	phase           hostilePhase
	messages, size  int
	good, delivered int
	// large events: valid, at max_payload; delivered or dead-lettered.
	large, largeDelivered int
	deadLetters           uint64         // stored during the phase
	kinds                 map[string]int // dead letters stored during the phase, by kind
	maxRSS, peakRSS       int64          // the largest VmRSS sampled; VmHWM of the bridge process
	took                  time.Duration
	end                   settled
	killedAt              int64  // VmRSS when the bench killed the bridge
	exited                string // how the bridge stopped by itself, if it did
	stopped               string // why the bench stopped the bridge after the phase, if it did
}

// died reports whether the bridge did not survive the phase.
func (r phaseResult) died() bool { return r.killedAt > 0 || r.exited != "" }

// hostileRun runs the phases against one bridge, started again only when
// a phase killed it or left it busy past its bound, and once with the
// mapping (mappedRules at mapping) for the mapped phases.
type hostileRun struct {
	b       *bench
	pub     hostilePublisher
	log     *os.File // the bridge's log
	mapping string
	p       *bridgeProc
	mapped  bool // whether p runs with the mapping
}

// hostileInput publishes each phase's worst input to a bridge with the
// default settings and reports what it cost: RSS, dead letters, good
// events delivered. It fails when a good event was lost or the bridge died.
func (b *bench) hostileInput(ctx context.Context) error {
	h := b.o.hostile
	r := &hostileRun{b: b, pub: hostilePublisher{js: b.js, max: int(b.nc.MaxPayload())}}
	fmt.Println(machine())
	fmt.Printf("hostile input: %d messages per phase of %s each (the server's max_payload); the bridge at its default settings, with BRIDGE_MAPPING for the mapped phases; each phase bounded at %s; the bench kills the bridge above %s of RSS\n",
		h.messages, mib(int64(r.pub.max)), h.phaseTimeout, mib(int64(h.rssCap)))
	if err := freshStream(ctx, b.js); err != nil {
		return err
	}
	var err error
	if r.mapping, err = writeMapping(b.dir); err != nil {
		return err
	}
	if r.log, err = os.Create(filepath.Join(b.dir, "bridge.log")); err != nil {
		return err
	}
	defer r.log.Close()
	b.snk.reset(0, 0)
	var results []phaseResult
	for i, ph := range slices.Concat(hostilePhases, mappedPhases) {
		res, err := r.phase(ctx, ph)
		if err != nil {
			r.stop()
			return fmt.Errorf("phase %d, %s: %w", i+1, ph.name, err)
		}
		printPhase(i+1, res)
		results = append(results, res)
	}
	last := r.stop()
	return printHostile(results, last)
}

// phase publishes one phase's input to a running bridge and waits, within
// the phase's bound, for its good events and for the pipeline to go idle.
func (r *hostileRun) phase(ctx context.Context, ph hostilePhase) (phaseResult, error) {
	h := r.b.o.hostile
	res := phaseResult{phase: ph, messages: h.messages, size: r.pub.max}
	if err := r.start(ph.mapped); err != nil {
		return res, err
	}
	before, err := deadLetters(ctx, r.b.js)
	if err != nil {
		return res, err
	}
	start := time.Now()
	w := watchRSS(r.p, int64(h.rssCap))
	pub := r.pub
	pub.mapped = ph.mapped
	sent, err := ph.publish(ctx, pub, h.messages)
	if err != nil {
		w.stop()
		return res, err
	}
	res.end = settle(ctx, r.b.js, r.b.snk, r.p, sent.good, start.Add(h.phaseTimeout))
	w.stop()
	res.took = time.Since(start)
	res.good, res.delivered = len(sent.good), len(sent.good)-len(res.end.missing)
	res.large, res.largeDelivered = len(sent.large), len(sent.large)-len(r.b.snk.missing(goodSource, sent.large))
	res.maxRSS, res.peakRSS, res.killedAt = w.max, w.hwm, w.killedAt
	if err := r.afterPhase(ctx, &res); err != nil {
		return res, err
	}
	after, err := deadLetters(ctx, r.b.js)
	if err != nil {
		return res, err
	}
	res.deadLetters = after - before
	res.kinds, err = deadLetterKinds(ctx, r.b.js, before+1, after)
	return res, err
}

// afterPhase notes how the bridge came out of the phase. A bridge that
// died, or is still busy past the bound, is stopped and the stream purged,
// so that the next phase measures its own input only.
func (r *hostileRun) afterPhase(ctx context.Context, res *phaseResult) error {
	select {
	case <-r.p.exited:
		if res.killedAt == 0 {
			res.exited = fmt.Sprintf("%v; its last log lines: %s", r.p.err, tail(r.log.Name(), 3))
		}
		r.p = nil
	default:
		if !res.end.idle {
			res.stopped = fmt.Sprintf("not idle after %s: %d messages not yet delivered to it, %d in it", r.b.o.hostile.phaseTimeout, res.end.pending, res.end.ackPending)
			_ = r.p.stopWithin(10 * time.Second)
			r.p = nil
		}
	}
	if r.p != nil {
		return nil
	}
	s, err := r.b.js.Stream(ctx, streamName)
	if err == nil {
		err = s.Purge(ctx)
	}
	if err != nil {
		return fmt.Errorf("purge the stream: %w", err)
	}
	return nil
}

// start starts a bridge with its default settings, with the mapping when
// mapped, unless one runs so already; one without the mapping is stopped
// first.
func (r *hostileRun) start(mapped bool) error {
	if r.p != nil && r.mapped != mapped {
		if err := r.stop(); err != "" {
			return fmt.Errorf("the bridge stopped with %s before the mapped phases", err)
		}
	}
	if r.p != nil {
		return nil
	}
	args := connectionArgs(r.b.natsURL, r.b.snk.url)
	if mapped {
		args = append(args, "--mapping", r.mapping)
	}
	p, err := startBridge(args, "", "", "", r.log)
	r.p, r.mapped = p, mapped
	return err
}

// stop stops the bridge, if one runs, and says how it stopped ("" when
// cleanly).
func (r *hostileRun) stop() string {
	if r.p == nil {
		return ""
	}
	defer func() { r.p = nil }()
	if err := r.p.stop(); err != nil {
		return err.Error()
	}
	return ""
}

// tail is the last n lines of the file at path, joined by " | ".
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
