package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
)

// dlqFlags: `bridge dlq list` prints every dead letter with its reason;
// `bridge dlq replay [--seq N]` sends dead letters back to the subjects they
// came on (after the producer or the configuration was fixed). Flags go
// before or after the action word (run moves the word after them).
func dlqFlags(fs *flag.FlagSet) action {
	seq := fs.Uint64("seq", 0, "replay only the dead letter with this sequence (default: all)")
	showData := fs.Bool("data", false, "list: print each payload too")
	return func(ctx context.Context, cfg config.Config, fs *flag.FlagSet, stdout io.Writer) error {
		action := fs.Arg(0)
		if fs.NArg() != 1 || (action != "list" && action != "replay") {
			return fmt.Errorf(`say "dlq list" or "dlq replay [--seq N]": one action, with flags on either side of it (not understood: %q)`, strings.Join(fs.Args(), " "))
		}
		nc, js, err := openNATS(ctx, cfg)
		if err != nil {
			return err
		}
		defer nc.Close()
		dlq := consume.NewDeadLetters(js, cfg, zerolog.Nop(), metrics.New())
		if action == "replay" {
			n, err := dlq.Replay(ctx, *seq)
			fmt.Fprintf(stdout, "replayed %d dead letter(s)\n", n)
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SEQ\tTIME\tSUBJECT\tKIND\tSTATUS\tREASON")
		n := 0
		err = dlq.Each(ctx, func(s consume.Stored) error {
			n++
			status := "-"
			if s.Status != 0 {
				status = strconv.Itoa(s.Status)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", s.Seq, s.Time.UTC().Format(time.RFC3339), s.Subject, s.Kind, status, s.Reason)
			if *showData {
				fmt.Fprintf(w, "\t\t\t\t\t%s\n", s.Data)
			}
			return nil
		})
		w.Flush()
		fmt.Fprintf(stdout, "%d dead letter(s) in %s\n", n, cfg.Bridge.DLQStream)
		return err
	}
}
