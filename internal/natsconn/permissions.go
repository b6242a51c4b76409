package natsconn

import (
	"fmt"
	"strings"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// Permissions is the least a NATS user needs to run the bridge with a
// configuration: what it publishes and subscribes to. Responses says it
// must be allowed to answer requests (nats-server's allow_responses): the
// replies of core NATS request/reply producers and of the service API.
type Permissions struct {
	Publish, Subscribe []string
	Responses          bool
}

// NeededPermissions lists the subjects the bridge uses with cfg. In
// bind-only mode it creates and changes nothing, so it needs no create
// rights. ServiceSubjects are the service API's ($SRV.>), without which the
// bridge runs too, unlisted.
func NeededPermissions(cfg config.Config, serviceSubjects ...string) Permissions {
	api := "$JS.API"
	switch {
	case cfg.NATS.JSDomain != "":
		api = "$JS." + cfg.NATS.JSDomain + ".API"
	case cfg.NATS.JSAPIPrefix != "":
		api = strings.TrimSuffix(cfg.NATS.JSAPIPrefix, ".")
	}
	b := cfg.Bridge
	// The consumer read: the sandbox's own on a shared NATS.
	b.Consumer = cfg.ReadingConsumer()
	kv := "KV_" + b.StateBucket
	p := Permissions{Responses: true, Subscribe: []string{"_INBOX.>"}}
	p.Publish = []string{
		api + ".STREAM.INFO." + b.Stream,
		api + ".STREAM.INFO." + b.DLQStream,
		fmt.Sprintf("%s.CONSUMER.INFO.%s.%s", api, b.Stream, b.Consumer),
		fmt.Sprintf("%s.CONSUMER.MSG.NEXT.%s.%s", api, b.Stream, b.Consumer),
		fmt.Sprintf("$JS.ACK.%s.%s.>", b.Stream, b.Consumer),
		DeadLetterSubjects(cfg),
		// What holds a dead letter's subject when the stream refuses it as
		// held: the bridge checks its seal before it believes it.
		api + ".STREAM.MSG.GET." + b.DLQStream,
		// The ack floor in BRIDGE_STATE_BUCKET: look it up, read, write.
		api + ".STREAM.INFO." + kv,
		api + ".DIRECT.GET." + kv + ".>",
		"$KV." + b.StateBucket + ".>",
	}
	if !b.BindOnly {
		p.Publish = append(p.Publish,
			api+".STREAM.CREATE."+b.Stream,
			api+".STREAM.CREATE."+b.DLQStream,
			fmt.Sprintf("%s.CONSUMER.CREATE.%s.%s", api, b.Stream, b.Consumer),
			fmt.Sprintf("%s.CONSUMER.CREATE.%s.%s.>", api, b.Stream, b.Consumer),
			// Creating the bucket reads the account's JetStream limits.
			api+".INFO", api+".STREAM.CREATE."+kv)
	}
	if b.CoreSubject != "" {
		p.Subscribe = append(p.Subscribe, b.CoreSubject)
	}
	p.Subscribe = append(p.Subscribe, serviceSubjects...)
	return p
}

// DeadLetterSubjects are the subjects the bridge publishes dead letters on
// with cfg, as a stream capturing them lists them.
func DeadLetterSubjects(cfg config.Config) string { return cfg.Bridge.DLQSubject + ".>" }

// ServerConfig writes p as the permissions block of a user in a
// nats-server configuration file.
func (p Permissions) ServerConfig() string {
	var b strings.Builder
	list := func(name string, subjects []string) {
		fmt.Fprintf(&b, "  %s: { allow: [\n", name)
		for _, s := range subjects {
			fmt.Fprintf(&b, "    %q\n", s)
		}
		b.WriteString("  ] }\n")
	}
	b.WriteString("permissions: {\n")
	list("publish", p.Publish)
	list("subscribe", p.Subscribe)
	if p.Responses {
		b.WriteString("  allow_responses: true\n")
	}
	b.WriteString("}\n")
	return b.String()
}
