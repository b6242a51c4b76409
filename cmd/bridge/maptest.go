package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	ce "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/consume"
	"github.com/konnect-bridge/konnect-bridge/internal/event"
	"github.com/konnect-bridge/konnect-bridge/internal/mapping"
	"github.com/konnect-bridge/konnect-bridge/internal/termsafe"
)

// stdin is what `bridge map test` reads the message from.
var stdin io.Reader = os.Stdin

// maxTestMessage bounds the message `bridge map test` reads: NATS's
// largest max_payload.
const maxTestMessage = 64 << 20

// mapTestID is the id base a mapped event without an id gets in `bridge
// map test`; the bridge derives it from the stream and sequence.
const mapTestID = "map-test"

func mapFlags(fs *flag.FlagSet) action {
	var headers nats.Header
	fs.Func("header", "a NATS header of the message, `NAME=VALUE` (repeat for more)", func(s string) error {
		name, value, ok := strings.Cut(s, "=")
		if !ok || name == "" {
			return fmt.Errorf("%q is not NAME=VALUE", s)
		}
		if headers == nil {
			headers = nats.Header{}
		}
		headers.Add(name, value)
		return nil
	})
	return func(_ context.Context, cfg config.Config, fs *flag.FlagSet, stdout io.Writer) error {
		if word := fs.Arg(0); word != "test" || fs.NArg() > 1 {
			return fmt.Errorf("say what to do: bridge map test --mapping FILE --subject SUBJECT < message.json")
		}
		subject, given := "", false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "subject" })
		if given {
			subject = cfg.Bridge.Subject
		}
		if err := config.CheckSubject(subject, false); err != nil {
			return fmt.Errorf("--subject %q %v: give the NATS subject the message arrives on, such as --subject agent.runs.raw.acme", subject, err)
		}
		if cfg.Bridge.Mapping == "" {
			return errors.New("--mapping is empty: name the rules file to test, such as --mapping mapping.yaml (or set BRIDGE_MAPPING)")
		}
		rules, err := consume.RulesOf(cfg)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(stdin, maxTestMessage+1))
		if err != nil {
			return fmt.Errorf("reading the message from standard input: %w", err)
		}
		if len(data) > maxTestMessage {
			return fmt.Errorf("the message on standard input is larger than %d bytes, more than NATS carries", maxTestMessage)
		}
		msg := &nats.Msg{Subject: subject, Header: headers, Data: data}
		if _, matched, _ := rules.Mapping.Map(mapping.Message{Subject: subject, Header: headers, Data: data}); !matched {
			return fmt.Errorf("no rule of %s matches subject %s: the bridge would read the message as a CloudEvent", cfg.Bridge.Mapping, termsafe.String(subject))
		}
		return consume.Deliverables(rules, msg, func() string { return mapTestID }, 0, time.Now().UTC(), func(_ int, e *ce.Event, err error) error {
			if err != nil {
				return fmt.Errorf("dead-lettered (%s): %s", consume.KindOf(err), termsafe.String(err.Error()))
			}
			_, err = fmt.Fprintf(stdout, "%s\n", termsafe.Bytes(event.AppendJSON(nil, e)))
			return err
		})
	}
}
