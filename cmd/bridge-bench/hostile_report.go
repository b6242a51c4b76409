package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
)

// rssTarget is the most RSS the bridge may use with its default settings,
// whatever producers send.
const rssTarget = 128 << 20

// printPhase prints one phase's result as soon as it is measured.
func printPhase(n int, r phaseResult) {
	fmt.Printf("phase %d, %s (expected: %s)\n", n, r.phase.name, r.phase.expect)
	fmt.Printf("  %d messages of %s; good events delivered %d of %d; large events delivered %s; dead letters stored %d (%s per message; %s); max RSS %s, VmHWM %s; %s; bridge: %s\n",
		r.messages, mib(int64(r.size)), r.delivered, r.good, largeDelivered(r), r.deadLetters, perMessage(r), kinds(r.kinds),
		mib(r.maxRSS), mib(r.peakRSS), r.took.Round(100*time.Millisecond), bridgeState(r))
}

// printHostile prints the phases as a table and the targets, and fails
// when a good event was lost or the bridge died. last is how the bridge
// stopped at the end ("" when cleanly).
func printHostile(results []phaseResult, last string) error {
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "phase\tmessages\tgood delivered\tlarge delivered\tdead letters\tper message\tkinds\tmax RSS\tVmHWM\ttook\tbridge")
	var peak int64
	peakPhase, good, delivered, idle := 0, 0, 0, 0
	hostile, refused := 0, 0 // the mapped phases' hostile messages; dead-lettered by the mapping, or delivered
	var down []string
	for i, r := range results {
		fmt.Fprintf(w, "%d %s\t%d x %s\t%d of %d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, r.phase.name, r.messages, mib(int64(r.size)),
			r.delivered, r.good, largeDelivered(r), r.deadLetters, perMessage(r), kinds(r.kinds), mib(r.maxRSS), mib(r.peakRSS), r.took.Round(100*time.Millisecond), bridgeState(r))
		if rss := max(r.maxRSS, r.peakRSS); rss > peak {
			peak, peakPhase = rss, i+1
		}
		good, delivered = good+r.good, delivered+r.delivered
		if r.end.idle {
			idle++
		}
		if r.phase.mapped {
			hostile += r.messages
			refused += r.kinds[string(delivery.KindUnmappable)] + r.kinds[string(delivery.KindUndecodable)] + r.largeDelivered
		}
		if r.died() || r.stopped != "" {
			down = append(down, fmt.Sprintf("phase %d: %s", i+1, bridgeState(r)))
		}
	}
	if last != "" {
		down = append(down, "at the end: "+last)
	}
	_ = w.Flush()
	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "target\tmeasured\tmet")
	check := func(name, measured string, ok bool) {
		fmt.Fprintf(w, "%s\t%s\t%s\n", name, measured, map[bool]string{true: "yes", false: "NO"}[ok])
	}
	check("peak RSS <= 128 MiB in every phase", fmt.Sprintf("%s (phase %d)", mib(peak), peakPhase), peak <= rssTarget)
	check("every good event delivered", fmt.Sprintf("%d of %d", delivered, good), delivered == good)
	check("the bridge stayed up (not killed, not restarted)", orNone(down), len(down) == 0)
	if hostile > 0 {
		check("mapped hostile messages unmappable, undecodable or delivered", fmt.Sprintf("%d of %d", refused, hostile), refused == hostile)
	}
	check("every phase settled within its bound", fmt.Sprintf("%d of %d", idle, len(results)), idle == len(results))
	_ = w.Flush()

	var errs []error
	if delivered < good {
		errs = append(errs, fmt.Errorf("%d good events were not delivered within their phase's bound", good-delivered))
	}
	for i, r := range results {
		if r.died() {
			errs = append(errs, fmt.Errorf("phase %d, %s: the bridge %s", i+1, r.phase.name, bridgeState(r)))
		}
	}
	if last != "" {
		errs = append(errs, errors.New("the bridge did not stop cleanly: "+last))
	}
	return errors.Join(errs...)
}

// bridgeState says how the bridge came out of a phase.
func bridgeState(r phaseResult) string {
	switch {
	case r.killedAt > 0:
		return "killed by the bench at " + mib(r.killedAt)
	case r.exited != "":
		return "exited by itself: " + r.exited
	case r.stopped != "":
		return "stopped by the bench, " + r.stopped
	}
	return "up"
}

// largeDelivered says how many of the phase's large events were
// delivered; "-" when it had none.
func largeDelivered(r phaseResult) string {
	if r.large == 0 {
		return "-"
	}
	return fmt.Sprintf("%d of %d", r.largeDelivered, r.large)
}

func perMessage(r phaseResult) string {
	if r.messages == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(r.deadLetters)/float64(r.messages))
}

// kinds is how many dead letters of each kind: "unmappable 8", "-" for none.
func kinds(count map[string]int) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(count)) {
		out = append(out, k+" "+strconv.Itoa(count[k]))
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ", ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "yes"
	}
	return strings.Join(s, "; ")
}
