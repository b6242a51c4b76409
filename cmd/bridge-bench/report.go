package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report gathers the measures as they are taken (each is printed at once
// too) and prints them as a table, with the targets met or not.
type report struct {
	o    options
	rows [][3]string

	drain, raw, onePost float64 // events/s
	allocs              float64 // per event, the bridge's drain
	// settledBusy and settled are the sink's 503s and requests once the
	// bridge adapted (-sink-max-concurrency).
	settledBusy, settled int64
	p99                  time.Duration
	backlogRSS           int64
	// cpu is the bridge's drain of CloudEvents, mapped that of run records
	// through a mapping rule (-mapped), each over -n events.
	cpu    time.Duration
	mapped drained
}

// mappedCPURatio is the mapped drain's CPU per event over the CloudEvents
// drain's (both drain -n events).
func (r *report) mappedCPURatio() float64 { return r.mapped.cpu.Seconds() / r.cpu.Seconds() }

// header says where and with which settings the numbers are taken.
func (r *report) header() {
	fmt.Println(machine())
	cfg := bridgeConfig(r.o)
	gogc := r.o.gogc
	if gogc == "" {
		gogc = os.Getenv("GOGC") + " (inherited)"
		if os.Getenv("GOGC") == "" {
			gogc = "400 (the bridge's own default)"
		}
	}
	fmt.Printf("bridge: BRIDGE_BATCH_SIZE=%d BRIDGE_LINGER=%s BRIDGE_IN_FLIGHT=%d (prefetch %d, MaxAckPending %d), GOGC=%s\n",
		r.o.batch, r.o.linger, r.o.inFlight, cfg.Prefetch(), cfg.MaxAckPending(), gogc)
	if r.o.sinkDelay > 0 {
		fmt.Printf("sink: every answer held back %s\n", r.o.sinkDelay)
	}
}

func (r *report) add(name, value, note string) {
	r.rows = append(r.rows, [3]string{name, value, note})
	fmt.Printf("  %-34s %s  %s\n", name, value, note)
}

// drained adds the rows of a drain of n events by the bridge.
func (r *report) drained(what string, n int, d drained) {
	r.add(what+" drain", fmt.Sprintf("%.0f events/s", d.rate),
		fmt.Sprintf("%d events in %s (first to last ingest); %s from the bridge's start", n, d.window.Round(time.Millisecond), d.wall.Round(time.Millisecond)))
	r.add(what+" CPU", fmt.Sprintf("%.2f s per 100k events", d.cpu.Seconds()*100_000/float64(n)),
		fmt.Sprintf("%.2f s for the drain (%.0f%% of one core)", d.cpu.Seconds(), 100*d.cpu.Seconds()/d.window.Seconds()))
	if what == "bridge" {
		r.allocs = float64(d.mallocs) / float64(n)
		r.cpu = d.cpu
	}
	r.add(what+" allocations", fmt.Sprintf("%.1f per event", float64(d.mallocs)/float64(n)), fmt.Sprintf("%d GC cycles during the drain", d.gcs))
	r.add(what+" drain: NATS + sink CPU", fmt.Sprintf("%.2f s per 100k events", d.benchCPU.Seconds()*100_000/float64(n)), "the bench process during the drain")
	r.add(what+" peak RSS", mib(d.peakRSS), fmt.Sprintf("VmHWM; RSS at the end %s", mib(d.rss)))
}

// print writes the table and the targets.
func (r *report) print() {
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "measure\tvalue\tnote")
	for _, row := range r.rows {
		fmt.Fprintf(w, "%s\t%s\t%s\n", row[0], row[1], row[2])
	}
	_ = w.Flush()
	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "target\tmeasured\tmet")
	check := func(name, measured string, ok bool) {
		met := "NO"
		if ok {
			met = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", name, measured, met)
	}
	check("drain >= 50,000 events/s", fmt.Sprintf("%.0f", r.drain), r.drain >= 50_000)
	check("drain >= 0.7 x raw consume-and-ack", fmt.Sprintf("%.2f x raw", r.drain/r.raw), r.drain >= 0.7*r.raw)
	if r.o.sinkDelay >= 50*time.Millisecond {
		check(fmt.Sprintf("drain >= 40,000 events/s across %s", r.o.sinkDelay), fmt.Sprintf("%.0f", r.drain), r.drain >= 40_000)
	}
	if r.o.sinkMaxActive > 0 {
		share := float64(r.settledBusy) / float64(max(r.settled, 1))
		check("503s once adapted < 2% of requests", fmt.Sprintf("%.2f%%", 100*share), share < 0.02)
	}
	check("bridge allocations <= 15 per event", fmt.Sprintf("%.1f", r.allocs), r.allocs <= 15)
	if r.onePost > 0 {
		check("drain >= 15x one POST per event", fmt.Sprintf("%.1f x", r.drain/r.onePost), r.drain >= 15*r.onePost)
	}
	if r.o.duration > 0 {
		limit := r.o.linger + 20*time.Millisecond
		check(fmt.Sprintf("p99 at %d/s <= linger + 20ms", r.o.rate), fmt.Sprintf("%s <= %s", ms(r.p99), ms(limit)), r.p99 <= limit)
	}
	if r.mapped.cpu > 0 {
		check("mapped CPU per event <= 1.5x CloudEvents", fmt.Sprintf("%.2f x", r.mappedCPURatio()), r.mappedCPURatio() <= 1.5)
	}
	if r.backlogRSS > 0 {
		check(fmt.Sprintf("peak RSS <= 64 MiB over %d events", r.o.backlog), mib(r.backlogRSS), r.backlogRSS <= 64<<20)
	}
	_ = w.Flush()
}

// machine describes where the numbers come from.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if f := strings.Fields(line); len(f) == 3 {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("machine: %d CPUs (%s), %s memory, load average %s, %s", runtime.NumCPU(), model, mem, load, runtime.Version())
}

func rate(n int, d time.Duration) string {
	return fmt.Sprintf("%.0f events/s", float64(n)/d.Seconds())
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + "ms"
}
