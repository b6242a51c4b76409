// Command bridge-bench measures the bridge end to end on one machine: it
// runs a NATS server with JetStream and a Konnect-like ingest sink in its
// own process, preloads agent-run events, runs the real bridge in a child
// process until every event is delivered, and reports the drain rate,
// publish-to-ingest latency at a steady rate, the bridge's peak RSS and CPU
// time, beside two references: the raw JetStream consume-and-ack rate and
// a one-POST-per-event client. See docs/BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// options are the bench's flags.
type options struct {
	n, noIDEvery           int
	batch, inFlight        int
	linger                 time.Duration
	rate                   int
	duration               time.Duration
	onePost                int
	backlogRSS, mapped     bool
	backlog                int
	sinkDelay              time.Duration
	sinkMaxBody            byteSize
	sinkMaxActive          int
	gogc                   string
	cpuprofile, memprofile string
	benchProfile, dir      string
	hostile                hostileOptions
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		os.Exit(runChild(os.Args[2:]))
	}
	var o options
	d := config.Defaults().Batch
	flag.IntVar(&o.n, "n", 200_000, "events to preload and drain")
	flag.IntVar(&o.noIDEvery, "noid-every", 2, "1 in this many events has no id and no time (0: all have both)")
	flag.IntVar(&o.batch, "batch", d.Size, "the bridge's BRIDGE_BATCH_SIZE")
	flag.DurationVar(&o.linger, "linger", d.Linger, "the bridge's BRIDGE_LINGER")
	flag.IntVar(&o.inFlight, "inflight", d.InFlight, "the bridge's BRIDGE_IN_FLIGHT")
	flag.IntVar(&o.rate, "rate", 1000, "events/s of the latency phase")
	flag.DurationVar(&o.duration, "rate-duration", 10*time.Second, "length of the latency phase at -rate (0: skip it)")
	flag.IntVar(&o.onePost, "reference-events", 5000, "events sent by the one-POST-per-event reference (0: skip it)")
	flag.BoolVar(&o.mapped, "mapped", true, "also drain -n run records in a producer's own shape through a BRIDGE_MAPPING rule, with a fresh bridge, and compare its CPU per event with the CloudEvents drain's")
	flag.BoolVar(&o.backlogRSS, "backlog-rss", false, "also drain a -backlog event backlog with a fresh bridge and report its peak RSS (long)")
	flag.IntVar(&o.backlog, "backlog", 1_000_000, "events of the -backlog-rss phase")
	flag.DurationVar(&o.sinkDelay, "sink-delay", 0, "hold every answer of the sink back this long, as a network round trip to Konnect would")
	flag.Var(&o.sinkMaxBody, "sink-max-body", "answer 413 to request bodies larger than this, such as 1MiB (default: no limit, as Konnect publishes none)")
	flag.IntVar(&o.sinkMaxActive, "sink-max-concurrency", 0, "answer 503 to a request arriving while this many are being answered (0: no limit)")
	flag.StringVar(&o.gogc, "bridge-gogc", "", "GOGC of the bridge process only (default: inherited)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write the bridge's CPU profile of the drain to this file")
	flag.StringVar(&o.memprofile, "memprofile", "", "write the bridge's allocation profile of the drain to this file")
	flag.StringVar(&o.benchProfile, "bench-cpuprofile", "", "write the bench process's CPU profile of the drain (NATS, the sink) to this file")
	flag.StringVar(&o.dir, "dir", "", "JetStream storage directory (default: a temporary one, removed at the end)")
	o.hostile.flags(flag.CommandLine)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bridge-bench:", err)
		os.Exit(1)
	}
}

// bench is one run: the NATS server, the sink, and what was measured.
type bench struct {
	o       options
	natsURL string
	dir     string
	nc      *nats.Conn
	js      jetstream.JetStream
	snk     *sink
	report  report
}

// run takes every measure in turn: the backlog, the two references, the
// bridge draining the backlog, the latency at a steady rate, the mapped
// drain, and the long backlog when asked for; or, with -hostile, only the hostile input.
func run(ctx context.Context, o options) error {
	dir := o.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "bridge-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if o.hostile.maxPayload > 64<<20 {
		return fmt.Errorf("-max-payload %d: NATS takes at most 64MiB", o.hostile.maxPayload)
	}
	ns, err := startNATS(dir, int32(o.hostile.maxPayload))
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return err
	}
	snk, err := startSink(o.sinkDelay, int64(o.sinkMaxBody), o.sinkMaxActive)
	if err != nil {
		return err
	}
	defer snk.srv.Close()
	b := &bench{o: o, natsURL: ns.ClientURL(), dir: dir, nc: nc, js: js, snk: snk, report: report{o: o}}
	if o.hostile.on {
		return b.hostileInput(ctx)
	}
	b.report.header()

	if err := b.load(ctx, o.n); err != nil {
		return err
	}
	if err := b.references(ctx); err != nil {
		return err
	}
	if err := b.bridge(ctx); err != nil {
		return err
	}
	if o.mapped {
		if err := b.mappedDrain(ctx); err != nil {
			return err
		}
	}
	if o.backlogRSS {
		if err := b.longBacklog(ctx); err != nil {
			return err
		}
	}
	b.report.print()
	return nil
}

// load stores a fresh backlog of n agent runs.
func (b *bench) load(ctx context.Context, n int) error {
	if err := freshStream(ctx, b.js); err != nil {
		return err
	}
	took, err := preload(ctx, b.js, n, agentRuns(b.o.noIDEvery))
	if err != nil {
		return err
	}
	b.report.add("preload (async publish)", rate(n, took), fmt.Sprintf("%d events, 1 in %d without id or time", n, b.o.noIDEvery))
	return nil
}

// references measures what the bridge is compared with, on the same
// backlog: consume-and-ack with the bridge's pull settings and with wide
// ones, and one POST per event.
func (b *bench) references(ctx context.Context) error {
	cfg := bridgeConfig(b.o)
	took, err := consumeAndAck(ctx, b.js, "bench-raw", b.o.n, cfg.Prefetch(), cfg.MaxAckPending())
	if err != nil {
		return fmt.Errorf("raw consume-and-ack: %w", err)
	}
	b.report.raw = float64(b.o.n) / took.Seconds()
	b.report.add("raw consume-and-ack", rate(b.o.n, took), fmt.Sprintf("the bridge's pull settings: prefetch %d, MaxAckPending %d", cfg.Prefetch(), cfg.MaxAckPending()))
	took, err = consumeAndAck(ctx, b.js, "bench-raw-wide", b.o.n, jetstream.DefaultMaxMessages, 20_000)
	if err != nil {
		return fmt.Errorf("raw consume-and-ack: %w", err)
	}
	b.report.add("raw consume-and-ack (wide)", rate(b.o.n, took), fmt.Sprintf("prefetch %d, MaxAckPending 20000", jetstream.DefaultMaxMessages))
	if b.o.onePost <= 0 {
		return nil
	}
	m := min(b.o.onePost, b.o.n)
	b.snk.reset(m, 0)
	took, err = onePostPerEvent(ctx, b.js, b.snk.url, m)
	if err != nil {
		return fmt.Errorf("one POST per event: %w", err)
	}
	b.report.onePost = float64(m) / took.Seconds()
	b.report.add("one POST per event", rate(m, took), fmt.Sprintf("%d events, sequential, the SDK's structured mode", m))
	return nil
}

// bridge runs the bridge on the backlog until every event is delivered,
// then measures its latency at a steady rate.
func (b *bench) bridge(ctx context.Context) error {
	b.snk.reset(b.o.n, steadyEvents(b.o.rate, b.o.duration))
	p, err := startBridge(bridgeArgs(b.o, b.natsURL, b.snk.url), b.o.cpuprofile, b.o.memprofile, b.o.gogc, nil)
	if err != nil {
		return err
	}
	defer func() { _ = p.stop() }()
	stopBenchProfile, err := profileSelf(b.o.benchProfile)
	if err != nil {
		return err
	}
	d, err := drain(p, b.snk, b.o.n)
	stopBenchProfile()
	if b.o.cpuprofile != "" || b.o.memprofile != "" {
		p.stopProfile()
	}
	if err != nil {
		return err
	}
	b.report.drain = d.rate
	b.report.drained("bridge", b.o.n, d)
	if b.o.sinkMaxActive > 0 {
		b.report.add("sink 503s past its concurrency", overload(b.snk.busy.Load(), b.snk.requests.Load()+b.snk.busy.Load()),
			fmt.Sprintf("-sink-max-concurrency %d, whole drain", b.o.sinkMaxActive))
		b.report.add("... once adapted", overload(b.snk.settledBusy.Load(), b.snk.settled.Load()), fmt.Sprintf("after the first %s", settleTime))
		b.report.settledBusy, b.report.settled = b.snk.settledBusy.Load(), b.snk.settled.Load()
	}

	if b.o.duration > 0 {
		l, err := latency(ctx, b.js, b.snk, b.o.rate, b.o.duration)
		if err != nil {
			return err
		}
		b.report.p99 = l.p99
		b.report.add("latency p50 / p99 / max", fmt.Sprintf("%s / %s / %s", ms(l.p50), ms(l.p99), ms(l.max)),
			fmt.Sprintf("publish to ingest, %d events at %d/s", l.n, b.o.rate))
	}
	st, err := p.stats()
	if err != nil {
		return err
	}
	if err := p.stop(); err != nil {
		return fmt.Errorf("the bridge stopped with %v", err)
	}
	b.report.add("bridge peak RSS (whole run)", mib(st.peakRSS), "VmHWM at the end")
	return nil
}

// longBacklog drains a backlog of o.backlog events with a fresh bridge: its
// peak RSS must depend on the batch settings, not on the backlog.
func (b *bench) longBacklog(ctx context.Context) error {
	if err := b.load(ctx, b.o.backlog); err != nil {
		return err
	}
	b.snk.reset(b.o.backlog, 0)
	p, err := startBridge(bridgeArgs(b.o, b.natsURL, b.snk.url), "", "", b.o.gogc, nil)
	if err != nil {
		return err
	}
	d, err := drain(p, b.snk, b.o.backlog)
	_ = p.stop()
	if err != nil {
		return err
	}
	b.report.backlogRSS = d.peakRSS
	b.report.drained("backlog", b.o.backlog, d)
	return nil
}

func overload(busy, requests int64) string {
	return fmt.Sprintf("%d of %d requests (%.2f%%)", busy, requests, 100*float64(busy)/float64(max(requests, 1)))
}

// bridgeConfig is the configuration the child runs, as far as the bench
// needs to know it.
func bridgeConfig(o options) config.Config {
	c := config.Defaults()
	c.Batch.Size, c.Batch.Linger, c.Batch.InFlight = o.batch, o.linger, o.inFlight
	return c
}

// bridgeArgs are the bridge's own flags for the child.
func bridgeArgs(o options, natsURL, ingestURL string) []string {
	return append(connectionArgs(natsURL, ingestURL),
		"--stream", streamName, "--subject", subjects,
		"--batch-size", strconv.Itoa(o.batch), "--linger", o.linger.String(), "--in-flight", strconv.Itoa(o.inFlight),
	)
}

// connectionArgs are the flags that connect the child to the bench's NATS
// and sink; everything else is the bridge's default, but for the billing
// check, which reads an API the sink does not serve.
func connectionArgs(natsURL, ingestURL string) []string {
	return []string{
		"--nats-url", natsURL, "--konnect-url", ingestURL, "--konnect-token", "spat_bench",
		"--http-addr", "127.0.0.1:0", "--log-level", "warn", "--log-format", "json", "--billing-check", "0s",
	}
}
