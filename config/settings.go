package config

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// Setting is one configurable value: its environment variable, flag and YAML
// key, all parsed by the same Value. The table below is the single list the
// loader, the usage text and docs/configuration.md follow.
type Setting struct {
	Env   string
	Flag  string
	YAML  string
	Usage string
	value func(c *Config) flag.Value
}

// Settings lists every setting in the order docs/configuration.md documents
// them.
var Settings = []Setting{
	{"NATS_CONTEXT", "context", "nats.context", "natscli context to connect with (URL, credentials, TLS, inbox prefix, JetStream domain); empty: the selected one, if any", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.Context) }},
	{"NATS_URL", "nats-url", "nats.url", "NATS server URL(s), comma separated; empty runs an embedded NATS server (dev mode)", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.URL) }},
	{"NATS_CREDS", "nats-creds", "nats.creds", "path of a NATS credentials (.creds) file", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.Creds) }},
	{"NATS_NKEY", "nats-nkey", "nats.nkey", "path of an NKey seed file", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.NKey) }},
	{"NATS_TOKEN", "nats-token", "nats.token", "NATS token (secret)", func(c *Config) flag.Value { return (*secretValue)(&c.NATS.Token) }},
	{"NATS_USER", "nats-user", "nats.user", "NATS user name", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.User) }},
	{"NATS_PASSWORD", "nats-password", "nats.password", "NATS password (secret)", func(c *Config) flag.Value { return (*secretValue)(&c.NATS.Password) }},
	{"NATS_CA", "nats-ca", "nats.ca", "path of a CA bundle to verify the NATS server", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.CA) }},
	{"NATS_CERT", "nats-cert", "nats.cert", "path of a client certificate for NATS mutual TLS", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.Cert) }},
	{"NATS_KEY", "nats-key", "nats.key", "path of the client certificate's key", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.Key) }},
	{"NATS_JS_DOMAIN", "js-domain", "nats.js_domain", "JetStream domain of the stream (a leaf node's hub, for example)", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.JSDomain) }},
	{"NATS_JS_API_PREFIX", "js-api-prefix", "nats.js_api_prefix", "JetStream API prefix, for a stream imported from another account", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.JSAPIPrefix) }},
	{"BRIDGE_NATS_LISTEN", "nats-listen", "nats.listen", "dev mode: address of the embedded NATS server", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.EmbeddedAddr) }},
	{"BRIDGE_DATA_DIR", "data-dir", "nats.data_dir", "dev mode: JetStream storage directory of the embedded NATS server", func(c *Config) flag.Value { return (*stringValue)(&c.NATS.DataDir) }},

	{"KONNECT_URL", "konnect-url", "konnect.url", "full ingest URL (Konnect, or self-hosted OpenMeter)", func(c *Config) flag.Value { return (*stringValue)(&c.Konnect.URL) }},
	{"KONNECT_REGION", "konnect-region", "konnect.region", "Konnect region (us|eu|au|me|in|sg); builds KONNECT_URL", func(c *Config) flag.Value { return (*stringValue)(&c.Konnect.Region) }},
	{"KONNECT_TOKEN", "konnect-token", "konnect.token", "Konnect system-account token with the Ingest role (secret)", func(c *Config) flag.Value { return (*secretValue)(&c.Konnect.Token) }},
	{"KONNECT_TIMEOUT", "konnect-timeout", "konnect.timeout", "whole-request timeout for one batch", func(c *Config) flag.Value { return (*durationValue)(&c.Konnect.Timeout) }},
	{"KONNECT_CONNECT_TIMEOUT", "konnect-connect-timeout", "konnect.connect_timeout", "TCP and TLS connect timeout", func(c *Config) flag.Value { return (*durationValue)(&c.Konnect.ConnectTimeout) }},
	{"KONNECT_ALLOW_PLAIN_HTTP", "konnect-allow-plain-http", "konnect.allow_plain_http", "allow KONNECT_TOKEN over http:// to a host other than this machine (a self-hosted OpenMeter on a trusted network)", func(c *Config) flag.Value { return (*boolValue)(&c.Konnect.AllowPlainHTTP) }},

	{"BRIDGE_SUBJECT", "subject", "bridge.subject", "subjects the stream captures and the consumer reads", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.Subject) }},
	{"BRIDGE_STREAM", "stream", "bridge.stream", "JetStream stream (created when missing, never changed)", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.Stream) }},
	{"BRIDGE_BIND_ONLY", "bind-only", "bridge.bind_only", "never create or change the stream, consumer or dead-letter stream: bind to them, and refuse to start when one is missing", func(c *Config) flag.Value { return (*boolValue)(&c.Bridge.BindOnly) }},
	{"BRIDGE_CONSUMER", "consumer", "bridge.consumer", "durable consumer name, shared by every replica", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.Consumer) }},
	{"BRIDGE_CONSUMER_START", "consumer-start", "bridge.consumer_start", "where a brand-new consumer starts: all, new, or an RFC 3339 time (a consumer with a recorded ack floor resumes after it; after a floor record was deleted, only a value set explicitly is taken)", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.ConsumerStart) }},
	{"BRIDGE_PRIORITY_POLICY", "priority-policy", "bridge.priority_policy", "how replicas share the consumer: none (every replica pulls), pinned_client (one replica pulls, the others stand by and take over when it stops for BRIDGE_PINNED_TTL) or overflow (a replica with BRIDGE_OVERFLOW_MIN_PENDING above 0 pulls only while the backlog is at least that)", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.PriorityPolicy) }},
	{"BRIDGE_PRIORITY_GROUP", "priority-group", "bridge.priority_group", "priority group of the consumer the replicas pull in, with BRIDGE_PRIORITY_POLICY other than none", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.PriorityGroup) }},
	{"BRIDGE_PINNED_TTL", "pinned-ttl", "bridge.pinned_ttl", "pinned_client: how long the pinned replica may go without pulling before a standby takes over; more than the 5s pull expiry", func(c *Config) flag.Value { return (*durationValue)(&c.Bridge.PinnedTTL) }},
	{"BRIDGE_OVERFLOW_MIN_PENDING", "overflow-min-pending", "bridge.overflow_min_pending", "overflow: this replica pulls only while at least this many messages wait; 0: it always pulls (run one such replica)", func(c *Config) flag.Value { return (*int64Value)(&c.Bridge.OverflowMinPending) }},
	{"BRIDGE_STATE_BUCKET", "state-bucket", "bridge.state_bucket", "JetStream key-value bucket keeping each consumer's ack floor", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.StateBucket) }},
	{"BRIDGE_DLQ_SUBJECT", "dlq-subject", "bridge.dlq_subject", "prefix of the subjects dead letters are published on (one subject each, under PREFIX.>)", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.DLQSubject) }},
	{"BRIDGE_DLQ_STREAM", "dlq-stream", "bridge.dlq_stream", "JetStream stream that keeps the dead letters", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.DLQStream) }},
	{"BRIDGE_DLQ_KEY", "dlq-key", "bridge.dlq_key", "key dead letters are sealed with, so that a forged dead letter is never taken for the bridge's and never replayed; at least 32 characters, the same for every replica and for bridge dlq (secret). Empty: a key generated once and kept in BRIDGE_STATE_BUCKET", func(c *Config) flag.Value { return (*secretValue)(&c.Bridge.DLQKey) }},
	{"BRIDGE_DLQ_MAX_BYTES", "dlq-max-bytes", "bridge.dlq_max_bytes", "size limit of the dead-letter stream the bridge creates; when full, new dead letters wait and nothing held is discarded", func(c *Config) flag.Value { return (*int64Value)(&c.Bridge.DLQMaxBytes) }},
	{"BRIDGE_CORE_SUBJECT", "core-subject", "bridge.core_subject", "also read core NATS (no JetStream) on these subjects; empty: off", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.CoreSubject) }},
	{"BRIDGE_QUEUE_GROUP", "queue-group", "bridge.queue_group", "queue group of the core NATS subscription", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.QueueGroup) }},
	{"BRIDGE_CORE_PENDING", "core-pending", "bridge.core_pending", "core NATS messages that may wait for the bridge before NATS drops them (counted as slow-consumer drops)", func(c *Config) flag.Value { return (*intValue)(&c.Bridge.CorePending) }},
	{"BRIDGE_HTTP_ADDR", "http-addr", "bridge.http_addr", "admin server address (/healthz, /readyz, /metrics, /)", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.HTTPAddr) }},
	{"BRIDGE_ADMIN_TOKEN", "admin-token", "bridge.admin_token", "bearer token (or Basic password) every admin page and API asks for, except /healthz, /readyz and /metrics (secret); empty on a non-loopback BRIDGE_HTTP_ADDR: pages that name customers and the sandbox are not served", func(c *Config) flag.Value { return (*secretValue)(&c.Bridge.AdminToken) }},
	{"BRIDGE_LOG_LEVEL", "log-level", "bridge.log_level", "trace|debug|info|warn|error", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.LogLevel) }},
	{"BRIDGE_LOG_FORMAT", "log-format", "bridge.log_format", "auto (human on a terminal, else JSON)|json|console", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.LogFormat) }},
	{"BRIDGE_SANDBOX", "sandbox", "bridge.sandbox", "allow the built-in Konnect sandbox when no KONNECT_TOKEN or KONNECT_URL is set", func(c *Config) flag.Value { return (*boolValue)(&c.Bridge.Sandbox) }},
	{"BRIDGE_SANDBOX_KEEP", "sandbox-keep", "bridge.sandbox_keep", "sandbox: how many accepted events it keeps to show and query (it counts all of them)", func(c *Config) flag.Value { return (*intValue)(&c.Bridge.SandboxKeep) }},
	{"BRIDGE_SHUTDOWN_TIMEOUT", "shutdown-timeout", "bridge.shutdown_timeout", "time to finish or hand back in-flight batches on SIGTERM", func(c *Config) flag.Value { return (*durationValue)(&c.Bridge.ShutdownTimeout) }},

	{"BRIDGE_MAX_FUTURE", "max-future", "bridge.max_future", "an event timed further ahead of the bridge's clock is out of bounds (it would bill in a period nobody invoices yet)", func(c *Config) flag.Value { return (*durationValue)(&c.Bridge.MaxFuture) }},
	{"BRIDGE_TIME_POLICY", "time-policy", "bridge.time_policy", "what is done with an event timed out of bounds (ahead by more than BRIDGE_MAX_FUTURE, or before its customer's current billing period): flag (deliver and count) or deadletter", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.TimePolicy) }},

	{"BRIDGE_MAPPING", "mapping", "bridge.mapping", "path of a YAML file of rules that map messages in a producer's own shape to CloudEvents (CEL expressions); a message no rule matches is read as a CloudEvent; empty: off", func(c *Config) flag.Value { return (*stringValue)(&c.Bridge.Mapping) }},

	{"BRIDGE_FENCE_SUBJECTS", "fence-subjects", "fence.subjects", "bind each event's customer to its NATS subject: templates, comma separated, such as agent.runs.{customer} or agent.runs.{source}.{customer}; empty: off", func(c *Config) flag.Value { return (*stringValue)(&c.Fence.Subjects) }},
	{"BRIDGE_FENCE_CUSTOMERS", "fence-customers", "fence.customers", "the customer each {customer} token bills: token=customer, comma separated (acme=acme-inc); prefix*=...*... rewrites a prefix (t-*=*); empty: the token itself", func(c *Config) flag.Value { return (*stringValue)(&c.Fence.Customers) }},
	{"BRIDGE_FENCE_FILL_SUBJECT", "fence-fill-subject", "fence.fill_subject", "an event without subject on a fenced subject bills the customer the subject allows", func(c *Config) flag.Value { return (*boolValue)(&c.Fence.FillSubject) }},

	{"BRIDGE_BATCH_SIZE", "batch-size", "batch.size", "most events in one request; batches grow toward it while a backlog waits", func(c *Config) flag.Value { return (*intValue)(&c.Batch.Size) }},
	{"BRIDGE_BATCH_BYTES", "batch-bytes", "batch.bytes", "most bytes in one request body", func(c *Config) flag.Value { return (*intValue)(&c.Batch.Bytes) }},
	{"BRIDGE_LINGER", "linger", "batch.linger", "longest an event waits for its batch to fill", func(c *Config) flag.Value { return (*durationValue)(&c.Batch.Linger) }},
	{"BRIDGE_IN_FLIGHT", "in-flight", "batch.in_flight", "most requests to Konnect at once; adaptive concurrency finds how many, from 1 up", func(c *Config) flag.Value { return (*intValue)(&c.Batch.InFlight) }},
	{"BRIDGE_PREFETCH_BYTES", "prefetch-bytes", "batch.prefetch_bytes", "most bytes one pull fetches ahead, 1 to 32 MiB (raised to the server's max_payload when below it)", func(c *Config) flag.Value { return (*intValue)(&c.Batch.PrefetchBytes) }},
	{"BRIDGE_HELD_BYTES", "held-bytes", "batch.held_bytes", "most bytes of NATS messages held while their events are delivered; a larger message is taken alone", func(c *Config) flag.Value { return (*intValue)(&c.Batch.HeldBytes) }},
	{"BRIDGE_MAX_EVENTS_PER_MESSAGE", "max-events-per-message", "batch.max_events_per_message", "a message holding more events is dead-lettered whole, once", func(c *Config) flag.Value { return (*intValue)(&c.Batch.MaxEventsPerMessage) }},
	{"BRIDGE_ACK_WAIT", "ack-wait", "batch.ack_wait", "consumer AckWait; in-progress signals go out at a third of it", func(c *Config) flag.Value { return (*durationValue)(&c.Batch.AckWait) }},

	{"BRIDGE_RETRY_BUDGET", "retry-budget", "retry.budget", "how long a batch is retried in process before its messages are handed back", func(c *Config) flag.Value { return (*durationValue)(&c.Retry.Budget) }},
	{"BRIDGE_RETRY_MAX_BACKOFF", "retry-max-backoff", "retry.max_backoff", "cap of the exponential backoff between retries", func(c *Config) flag.Value { return (*durationValue)(&c.Retry.MaxBackoff) }},
	{"BRIDGE_NAK_DELAY", "nak-delay", "retry.nak_delay", "delay before JetStream redelivers handed-back messages", func(c *Config) flag.Value { return (*durationValue)(&c.Retry.NakDelay) }},
	{"BRIDGE_PROBE_MAX", "probe-max", "retry.probe_max", "cap of the probe interval while Konnect refuses the token or URL", func(c *Config) flag.Value { return (*durationValue)(&c.Retry.ProbeMax) }},

	{"BRIDGE_BILLING_CHECK", "billing-check", "billing.check_interval", "how often the running bridge checks that meters and customers bill what it delivers; 0: never", func(c *Config) flag.Value { return (*durationValue)(&c.Billing.CheckInterval) }},
	{"BRIDGE_BILLING_MAX_SUBJECTS", "billing-max-subjects", "billing.max_subjects", "most recently seen subjects the billing check remembers", func(c *Config) flag.Value { return (*intValue)(&c.Billing.MaxSubjects) }},
	{"BRIDGE_PERIOD_CLOSE_WARNING", "period-close-warning", "billing.period_close_warning", "how long before a service period's ingestion cutoff (period end + collection interval) the billing check warns of its events not delivered yet; 0: only once missed", func(c *Config) flag.Value { return (*durationValue)(&c.Billing.PeriodCloseWarning) }},
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type secretValue Secret

func (v *secretValue) Set(s string) error { *v = secretValue(s); return nil }
func (v *secretValue) String() string     { return Secret(*v).String() }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

type int64Value int64

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = int64Value(n)
	return nil
}
func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 500ms, 10s or 2m", s)
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }
