// Package config owns the bridge's settings: their defaults, where they come
// from (flags over environment over a YAML file over defaults) and whether
// they make sense together. It never connects to anything and never logs.
package config

import (
	"time"
)

// Config is every setting of the bridge. Zero values are never used: Load
// starts from Defaults.
type Config struct {
	NATS    NATS
	Konnect Konnect
	Bridge  Bridge
	Fence   Fence
	Batch   Batch
	Retry   Retry
	Billing Billing

	// contextSecrets are the password, token and seed of the NATS context
	// in use, kept only to be scrubbed from text.
	contextSecrets [3]Secret

	// konnectURLSet is true when KONNECT_URL was given rather than defaulted.
	konnectURLSet bool
}

// NATS says where the events come from and how to authenticate. An empty URL
// means dev mode: the bridge runs an embedded NATS server.
type NATS struct {
	// Context names the natscli context the connection starts from; Load
	// sets it to the selected context when none is named.
	Context  string
	URL      string
	Creds    string
	NKey     string
	Token    Secret
	User     string
	Password Secret
	CA       string
	Cert     string
	Key      string

	// JSDomain and JSAPIPrefix (alternatives) say where the JetStream API
	// of the stream is answered.
	JSDomain    string
	JSAPIPrefix string

	// EmbeddedAddr and DataDir configure the embedded server of dev mode.
	EmbeddedAddr string
	DataDir      string
}

// Konnect says where events are delivered.
type Konnect struct {
	URL            string
	Region         string
	Token          Secret
	Timeout        time.Duration
	ConnectTimeout time.Duration
	// AllowPlainHTTP lets KONNECT_TOKEN travel over http:// to a host that
	// is not this machine (a self-hosted OpenMeter on a trusted network).
	AllowPlainHTTP bool
}

// Bridge holds the subjects, names and process settings.
type Bridge struct {
	Subject  string
	Stream   string
	Consumer string
	// ConsumerStart is where a brand-new consumer starts: all, new, or an
	// RFC 3339 time. A consumer with a recorded ack floor resumes after it.
	ConsumerStart string
	// ConsumerStartSet: BRIDGE_CONSUMER_START was given (environment, flag
	// or YAML) rather than defaulted, so it is the operator's word even
	// where the bucket says an ack floor was deleted.
	ConsumerStartSet bool
	// StateBucket is the JetStream key-value bucket that keeps each
	// consumer's ack floor across consumer deletions.
	StateBucket string
	DLQSubject  string
	DLQStream   string
	// DLQMaxBytes bounds the dead-letter stream the bridge creates.
	DLQMaxBytes int64
	CoreSubject string
	QueueGroup  string
	// CorePending is how many core NATS messages may wait for the bridge
	// before NATS drops them as a slow consumer.
	CorePending int
	HTTPAddr    string
	// AdminToken guards the admin server's pages and APIs but the probes
	// and metrics.
	AdminToken Secret
	// DLQKey seals dead letters, so the bridge and its dlq tool tell
	// them from anyone else's; empty: a generated key kept in StateBucket.
	DLQKey    Secret
	LogLevel  string
	LogFormat string
	Sandbox   bool
	// SandboxKeep is how many accepted events the sandbox keeps to show;
	// it counts all of them.
	SandboxKeep     int
	ShutdownTimeout time.Duration
	// MaxFuture is how far ahead of the bridge's clock an event may be
	// timed before it is out of bounds; TimePolicy (flag|deadletter) is
	// what is done with an event out of bounds.
	MaxFuture  time.Duration
	TimePolicy string
	// Mapping is the path of the mapping rules file; empty: off.
	Mapping string

	// BindOnly: never create or change the streams or the consumer.
	BindOnly bool

	// PriorityPolicy (none|pinned_client|overflow) is how replicas share
	// the consumer, in priority group PriorityGroup: a pinned replica
	// keeps its pin while it pulls within PinnedTTL; with overflow, a
	// replica with OverflowMinPending above 0 pulls only while at least
	// that many messages wait.
	PriorityPolicy     string
	PriorityGroup      string
	PinnedTTL          time.Duration
	OverflowMinPending int64
}

// Batch bounds each request to Konnect and how many run at once.
type Batch struct {
	Size     int
	Bytes    int
	Linger   time.Duration
	InFlight int
	AckWait  time.Duration
	// PrefetchBytes bounds what one pull asks for; HeldBytes bounds the
	// messages the bridge holds while their events are delivered.
	PrefetchBytes int
	HeldBytes     int
	// MaxEventsPerMessage: a message holding more is dead-lettered whole.
	MaxEventsPerMessage int
}

// Retry bounds how long a transient failure is retried in process before the
// messages are handed back to JetStream with a delay.
type Retry struct {
	Budget     time.Duration
	MaxBackoff time.Duration
	NakDelay   time.Duration
	ProbeMax   time.Duration
}

// Billing bounds the running bridge's billing check: whether every event
// type it delivers has a meter and every subject a customer.
type Billing struct {
	// CheckInterval is how often the check runs; 0 turns it off.
	CheckInterval time.Duration
	// MaxSubjects bounds how many recently seen subjects are remembered.
	MaxSubjects int
	// PeriodCloseWarning is how long before a service period's ingestion
	// cutoff its undelivered events are reported (period_closing).
	PeriodCloseWarning time.Duration
}

// Regions are the Konnect regions that serve Metering & Billing.
var Regions = []string{"us", "eu", "au", "me", "in", "sg"}

// RegionURL is the ingest URL of a Konnect region.
func RegionURL(region string) string {
	return "https://" + region + ".api.konghq.com/v3/openmeter/events"
}

// Defaults are the settings of `go run ./cmd/bridge` with nothing configured.
func Defaults() Config {
	return Config{
		NATS: NATS{
			EmbeddedAddr: "127.0.0.1:4222",
			DataDir:      "data",
		},
		Konnect: Konnect{
			URL:            RegionURL("us"),
			Timeout:        10 * time.Second,
			ConnectTimeout: 5 * time.Second,
		},
		Bridge: Bridge{
			Subject:            "agent.runs.>",
			Stream:             "AGENT_RUNS",
			Consumer:           "konnect-bridge",
			ConsumerStart:      StartAll,
			StateBucket:        "konnect-bridge-state",
			CorePending:        65536,
			SandboxKeep:        10000,
			DLQSubject:         "dlq.agent.runs",
			DLQStream:          "AGENT_RUNS_DLQ",
			DLQMaxBytes:        1 << 30,
			QueueGroup:         "konnect-bridge",
			HTTPAddr:           "127.0.0.1:8080",
			LogLevel:           "info",
			LogFormat:          "auto",
			ShutdownTimeout:    7 * time.Second,
			MaxFuture:          5 * time.Minute,
			TimePolicy:         "flag",
			PriorityPolicy:     PriorityNone,
			PriorityGroup:      "konnect-bridge",
			PinnedTTL:          15 * time.Second,
			OverflowMinPending: 1000,
		},
		Batch: Batch{
			Size:     500,
			Bytes:    900 << 10,
			Linger:   50 * time.Millisecond,
			InFlight: 32,
			AckWait:  30 * time.Second,

			PrefetchBytes:       4 << 20,
			HeldBytes:           16 << 20,
			MaxEventsPerMessage: 100_000,
		},
		Retry: Retry{
			Budget:     time.Minute,
			MaxBackoff: 10 * time.Second,
			NakDelay:   30 * time.Second,
			ProbeMax:   time.Minute,
		},
		Billing: Billing{
			CheckInterval:      time.Minute,
			MaxSubjects:        1000,
			PeriodCloseWarning: 2 * time.Hour,
		},
	}
}

// Prefetch is how many messages the consumer buffers ahead of the batcher.
func (c Config) Prefetch() int { return 2 * c.Batch.Size }

// MaxAckPending is sized so that the consumer never stalls on the bridge's
// own pipeline: the prefetch buffer, the batch being filled, the batches in
// flight and one queued per sender, with room for as much again.
func (c Config) MaxAckPending() int {
	return 2 * (c.Prefetch() + (2*c.Batch.InFlight+1)*c.Batch.Size)
}

// How replicas share the consumer (BRIDGE_PRIORITY_POLICY).
const (
	PriorityNone     = "none"
	PriorityPinned   = "pinned_client"
	PriorityOverflow = "overflow"
)

// Where a brand-new consumer starts (BRIDGE_CONSUMER_START), besides an
// RFC 3339 time.
const (
	StartAll = "all"
	StartNew = "new"
)

// SandboxConsumer is the durable consumer the sandbox reads through when it
// shares a NATS server with a billing bridge: never BRIDGE_CONSUMER, so the
// billing consumer keeps everything the sandbox saw.
func (c Config) SandboxConsumer() string { return c.Bridge.Consumer + "-sandbox" }

// ReadingConsumer is the durable consumer this bridge reads through: the
// sandbox's own against an external NATS, else BRIDGE_CONSUMER.
func (c Config) ReadingConsumer() string {
	if c.Target() == TargetSandbox && !c.Embedded() {
		return c.SandboxConsumer()
	}
	return c.Bridge.Consumer
}

// Reading says, in sandbox mode, that nothing is billed and which
// consumer the sandbox reads through; "" when events go to Konnect.
func (c Config) Reading() string {
	switch {
	case c.Target() != TargetSandbox:
		return ""
	case c.Embedded():
		return "events go to the built-in Konnect sandbox: nothing is billed (dev mode, reading the embedded server's own stream)"
	}
	return "events go to the built-in Konnect sandbox: nothing is billed. It reads through its own consumer " + c.SandboxConsumer() +
		", never the billing consumer " + c.Bridge.Consumer + ", which keeps every message in the stream for when KONNECT_TOKEN is set"
}

// Secret is a setting that must never be printed: its String is redacted.
type Secret string

// String hides the value; use Reveal where it is really needed.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Reveal returns the secret itself, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// MarshalText keeps secrets out of any JSON or YAML rendering.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// CorePendingBytes bounds the bytes of core NATS messages waiting for the
// bridge, next to BRIDGE_CORE_PENDING's count, and as much again of those
// waiting to be retried.
const CorePendingBytes = 64 << 20

// SoftMemoryLimit is the Go heap the bridge aims to stay under when
// GOMEMLIMIT is not set: what its settings let it hold (messages pulled
// ahead; messages held, a copy of their events and the request bodies
// those are sent in, three times HeldBytes; a body of one event larger than
// that; with core NATS on, its own held messages and what waits for it or
// for a retry) with room for the runtime. Above it the garbage collector
// works harder; it is never a hard cap.
func (c Config) SoftMemoryLimit() int64 {
	limit := 32<<20 + 3*int64(c.Batch.HeldBytes) + 2*int64(c.Batch.PrefetchBytes) + 2*int64(c.Batch.Bytes)
	if c.Bridge.CoreSubject != "" {
		limit += int64(c.Batch.HeldBytes) + 2*CorePendingBytes
	}
	return limit
}
