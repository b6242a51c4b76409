package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/rs/zerolog"
)

// Target is where events are delivered.
type Target int

const (
	// TargetKonnect delivers to KONNECT_URL with KONNECT_TOKEN.
	TargetKonnect Target = iota
	// TargetSandbox delivers to the built-in sandbox of the admin server.
	TargetSandbox
)

// Embedded reports dev mode: no NATS_URL, so the bridge runs its own server.
func (c Config) Embedded() bool { return c.NATS.URL == "" }

// Target says where events go. The sandbox is chosen only in dev mode or
// when BRIDGE_SANDBOX allows it, and never when Konnect is configured.
func (c Config) Target() Target {
	if c.Konnect.Token == "" && !c.konnectURLSet && c.Konnect.Region == "" && (c.Embedded() || c.Bridge.Sandbox) {
		return TargetSandbox
	}
	return TargetKonnect
}

// Validate checks every setting and how they fit together. Each message
// names the setting and says how to fix it; all problems are reported.
func (c Config) Validate() error {
	var p problems
	c.checkKonnect(&p)
	c.checkSources(&p)
	c.checkProcess(&p)
	c.checkBatching(&p)
	return errors.Join(p...)
}

// problems gathers what is wrong with a configuration, each naming the
// setting and the fix.
type problems []error

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

func (p *problems) err(err error) {
	if err != nil {
		*p = append(*p, err)
	}
}

func (p *problems) positive(name string, d time.Duration) {
	if d <= 0 {
		p.add("%s %s must be positive, such as 5s", name, d)
	}
}

// checkKonnect checks where events go.
func (c Config) checkKonnect(p *problems) {
	if c.Konnect.Region != "" && !slices.Contains(Regions, c.Konnect.Region) {
		p.add("KONNECT_REGION %q is not a Konnect region: use one of %s", c.Konnect.Region, strings.Join(Regions, ", "))
	}
	if c.Konnect.Region != "" && c.konnectURLSet && c.Konnect.URL != RegionURL(c.Konnect.Region) {
		p.add("KONNECT_URL %q and KONNECT_REGION %q disagree: set only one of them", RedactURL(c.Konnect.URL), c.Konnect.Region)
	}
	if u, err := url.Parse(c.Konnect.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("KONNECT_URL %q is not an http(s) URL: use the full ingest URL, such as %s", RedactURL(c.Konnect.URL), RegionURL("us"))
	} else if c.Konnect.Token == "" && strings.HasSuffix(u.Hostname(), ".konghq.com") && c.Target() == TargetKonnect {
		if c.Embedded() || c.konnectURLSet || c.Konnect.Region != "" {
			p.add("KONNECT_TOKEN is empty but %s needs one: set KONNECT_TOKEN to a system-account token (spat_...) with the Ingest role", u.Host)
		} else {
			p.add("KONNECT_TOKEN is empty while NATS_URL is set: events would go to the built-in sandbox, not Konnect. Set KONNECT_TOKEN to a system-account token (spat_...) with the Ingest role, or pass --sandbox (BRIDGE_SANDBOX=true) to use the sandbox on purpose")
		}
	}
	if err := checkPlainHTTP(c.Konnect); err != nil {
		p.err(err)
	}
	if err := checkSecret("KONNECT_TOKEN", c.Konnect.Token, true); err != nil {
		p.err(err)
	}
	p.positive("KONNECT_TIMEOUT", c.Konnect.Timeout)
	p.positive("KONNECT_CONNECT_TIMEOUT", c.Konnect.ConnectTimeout)
}

// checkSources checks where events come from.
func (c Config) checkSources(p *problems) {
	if err := checkNATSAuth(c.NATS); err != nil {
		p.err(err)
	}
	if err := checkJetStreamAPI(c); err != nil {
		p.err(err)
	}
	p.err(checkFile("BRIDGE_MAPPING", c.Bridge.Mapping))
	if err := CheckSubject(c.Bridge.Subject, true); err != nil {
		p.add("BRIDGE_SUBJECT %q %v: use a subject such as agent.runs.>", c.Bridge.Subject, err)
	}
	if err := CheckSubject(c.Bridge.DLQSubject, false); err != nil {
		p.add("BRIDGE_DLQ_SUBJECT %q %v: use a plain subject such as dlq.agent.runs", c.Bridge.DLQSubject, err)
	}
	for _, consumed := range []struct{ name, subject string }{{"BRIDGE_SUBJECT", c.Bridge.Subject}, {"BRIDGE_CORE_SUBJECT", c.Bridge.CoreSubject}} {
		if consumed.subject != "" && (SubjectMatches(consumed.subject, c.Bridge.DLQSubject) || subjectsOverlap(consumed.subject, c.Bridge.DLQSubject+".>")) {
			p.add("BRIDGE_DLQ_SUBJECT %q is inside the consumed subjects %q (%s): dead letters would be consumed again; use a subject outside it, such as dlq.agent.runs", c.Bridge.DLQSubject, consumed.subject, consumed.name)
		}
	}
	if c.Bridge.CoreSubject != "" {
		if err := CheckSubject(c.Bridge.CoreSubject, true); err != nil {
			p.add("BRIDGE_CORE_SUBJECT %q %v", c.Bridge.CoreSubject, err)
		} else if subjectsOverlap(c.Bridge.CoreSubject, c.Bridge.Subject) {
			p.add("BRIDGE_CORE_SUBJECT %q overlaps BRIDGE_SUBJECT %q: every event there would be read twice, once from the stream and once from core NATS; use subjects the stream does not capture", c.Bridge.CoreSubject, c.Bridge.Subject)
		}
	}
	if err := checkFence(c); err != nil {
		p.err(err)
	}
	for _, n := range []struct{ env, v string }{{"BRIDGE_STREAM", c.Bridge.Stream}, {"BRIDGE_CONSUMER", c.Bridge.Consumer}, {"BRIDGE_DLQ_STREAM", c.Bridge.DLQStream}} {
		if n.v == "" || strings.ContainsAny(n.v, " \t.*>/\\") {
			p.add("%s %q is not a JetStream name: use letters, digits, - and _ only", n.env, n.v)
		}
	}
	if _, err := c.StartTime(); err != nil {
		p.err(err)
	}
	if c.Bridge.StateBucket == "" || strings.ContainsFunc(c.Bridge.StateBucket, func(r rune) bool {
		return !(r == '-' || r == '_' || unicode.IsDigit(r) || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z'))
	}) {
		p.add("BRIDGE_STATE_BUCKET %q is not a key-value bucket name: use letters, digits, - and _ only, such as konnect-bridge-state", c.Bridge.StateBucket)
	}
	if c.Bridge.CorePending < 1 {
		p.add("BRIDGE_CORE_PENDING %d must be at least 1: it bounds the core NATS messages waiting for the bridge (65536 is the default)", c.Bridge.CorePending)
	}
	if c.Bridge.SandboxKeep < 1 {
		p.add("BRIDGE_SANDBOX_KEEP %d must be at least 1: it is how many events the sandbox keeps to show (10000 is the default)", c.Bridge.SandboxKeep)
	}
	if c.Bridge.Stream == c.Bridge.DLQStream {
		p.add("BRIDGE_DLQ_STREAM %q is the consumed stream: give dead letters a stream of their own", c.Bridge.DLQStream)
	}
	if c.Embedded() {
		if _, _, err := net.SplitHostPort(c.NATS.EmbeddedAddr); err != nil {
			p.add("BRIDGE_NATS_LISTEN %q is not host:port: use 127.0.0.1:4222", c.NATS.EmbeddedAddr)
		}
	}
}

// checkProcess checks the process: its HTTP address, logs and shutdown.
func (c Config) checkProcess(p *problems) {
	if _, _, err := net.SplitHostPort(c.Bridge.HTTPAddr); err != nil {
		p.add("BRIDGE_HTTP_ADDR %q is not host:port: use 127.0.0.1:8080, or 0.0.0.0:8080 in a container", c.Bridge.HTTPAddr)
	}
	p.err(checkSecret("BRIDGE_ADMIN_TOKEN", c.Bridge.AdminToken, true))
	if n := len(c.Bridge.AdminToken); n > 0 && n < MinAdminToken {
		p.add("BRIDGE_ADMIN_TOKEN is %d characters: use at least %d (openssl rand -hex 16 makes one)", n, MinAdminToken)
	}
	if _, err := zerolog.ParseLevel(c.Bridge.LogLevel); err != nil || c.Bridge.LogLevel == "" {
		p.add("BRIDGE_LOG_LEVEL %q is not a level: use trace, debug, info, warn or error", c.Bridge.LogLevel)
	}
	if !slices.Contains([]string{"auto", "json", "console"}, c.Bridge.LogFormat) {
		p.add("BRIDGE_LOG_FORMAT %q: use auto, json or console", c.Bridge.LogFormat)
	}
	p.positive("BRIDGE_SHUTDOWN_TIMEOUT", c.Bridge.ShutdownTimeout)
	p.positive("BRIDGE_MAX_FUTURE", c.Bridge.MaxFuture)
	if c.Bridge.TimePolicy != "flag" && c.Bridge.TimePolicy != "deadletter" {
		p.add("BRIDGE_TIME_POLICY %q is not flag or deadletter: flag (the default) delivers and counts events timed out of bounds, deadletter dead-letters them", c.Bridge.TimePolicy)
	}
	c.checkPriority(p)
}

// checkBatching checks batching, retries, the bounds on what is held and the billing check.
func (c Config) checkBatching(p *problems) {
	if c.Batch.Size < 1 || c.Batch.Size > 10000 {
		p.add("BRIDGE_BATCH_SIZE %d is out of range: use 1 to 10000 (500 is the default)", c.Batch.Size)
	}
	if c.Batch.Bytes < 1<<10 {
		p.add("BRIDGE_BATCH_BYTES %d is too small: use at least 1024; Konnect takes about 1 MB per request", c.Batch.Bytes)
	}
	if c.Batch.InFlight < 1 || c.Batch.InFlight > 64 {
		p.add("BRIDGE_IN_FLIGHT %d is out of range: use 1 to 64", c.Batch.InFlight)
	}
	p.positive("BRIDGE_LINGER", c.Batch.Linger)
	if c.Batch.AckWait < 3*time.Second {
		p.add("BRIDGE_ACK_WAIT %s is too short: use at least 3s (in-progress signals go out every third of it)", c.Batch.AckWait)
	}
	if c.Batch.PrefetchBytes < 1<<20 {
		p.add("BRIDGE_PREFETCH_BYTES %d is too small: use at least 1048576 (1 MiB); 4194304 is the default", c.Batch.PrefetchBytes)
	} else if c.Batch.PrefetchBytes > 32<<20 {
		p.add("BRIDGE_PREFETCH_BYTES %d is too large: use at most 33554432 (32 MiB); about two pulls wait in the client, and past its 64 MiB of pending messages NATS would drop some (redelivered only after BRIDGE_ACK_WAIT)", c.Batch.PrefetchBytes)
	}
	if c.Batch.HeldBytes < 1<<20 {
		p.add("BRIDGE_HELD_BYTES %d is too small: use at least 1048576 (1 MiB); 16777216 is the default", c.Batch.HeldBytes)
	}
	if c.Batch.MaxEventsPerMessage < 1 {
		p.add("BRIDGE_MAX_EVENTS_PER_MESSAGE %d must be at least 1: 100000 is the default", c.Batch.MaxEventsPerMessage)
	}
	p.err(checkSecret("BRIDGE_DLQ_KEY", c.Bridge.DLQKey, true))
	if n := len(c.Bridge.DLQKey); n > 0 && n < MinDLQKey {
		p.add("BRIDGE_DLQ_KEY is %d characters: use at least %d (openssl rand -hex 32 makes one), or leave it empty for a key the bridge keeps in BRIDGE_STATE_BUCKET", n, MinDLQKey)
	}
	if c.Bridge.DLQMaxBytes < 1<<20 {
		p.add("BRIDGE_DLQ_MAX_BYTES %d is too small: use at least 1048576 (1 MiB); 1073741824 (1 GiB) is the default", c.Bridge.DLQMaxBytes)
	}
	p.positive("BRIDGE_RETRY_BUDGET", c.Retry.Budget)
	p.positive("BRIDGE_RETRY_MAX_BACKOFF", c.Retry.MaxBackoff)
	p.positive("BRIDGE_NAK_DELAY", c.Retry.NakDelay)
	p.positive("BRIDGE_PROBE_MAX", c.Retry.ProbeMax)
	if c.Billing.CheckInterval != 0 && c.Billing.CheckInterval < 10*time.Second {
		p.add("BRIDGE_BILLING_CHECK %s is too short: use at least 10s (1m is a good start), or 0 to turn the check off (each check reads meters and customers from Konnect)", c.Billing.CheckInterval)
	}
	if c.Billing.PeriodCloseWarning < 0 {
		p.add("BRIDGE_PERIOD_CLOSE_WARNING %s is negative: use how long before a period's cutoff to warn (2h is a good start), or 0 to say only what missed it", c.Billing.PeriodCloseWarning)
	}
	if c.Billing.MaxSubjects < 1 || c.Billing.MaxSubjects > 100000 {
		p.add("BRIDGE_BILLING_MAX_SUBJECTS %d is out of range: use 1 to 100000 (1000 is a good start)", c.Billing.MaxSubjects)
	}
}

// StartTime is the time BRIDGE_CONSUMER_START names, or zero for all and
// new.
func (c Config) StartTime() (time.Time, error) {
	switch c.Bridge.ConsumerStart {
	case StartAll, StartNew:
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, c.Bridge.ConsumerStart)
	if err != nil {
		return time.Time{}, fmt.Errorf("BRIDGE_CONSUMER_START %q: use all (the whole stream), new (only what arrives from now on) or an RFC 3339 time such as 2026-11-01T00:00:00Z", c.Bridge.ConsumerStart)
	}
	return t, nil
}

// checkPlainHTTP refuses to send the token in clear text: over http:// it
// may go only to this machine, unless KONNECT_ALLOW_PLAIN_HTTP says the
// network is trusted.
func checkPlainHTTP(k Konnect) error {
	u, err := url.Parse(k.URL)
	if err != nil || k.Token == "" || u.Scheme != "http" || k.AllowPlainHTTP || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("KONNECT_URL %q is http:// to %s: KONNECT_TOKEN would travel in clear text on every request. Use https://, or, for a self-hosted OpenMeter on a network you trust, set KONNECT_ALLOW_PLAIN_HTTP=true", RedactURL(k.URL), u.Hostname())
}

// MinAdminToken is the shortest BRIDGE_ADMIN_TOKEN: a guess must not
// pay, and the scrubber replaces the token wherever it appears in text.
const MinAdminToken = 16

// MinDLQKey is the shortest BRIDGE_DLQ_KEY: 32 characters, at least 128
// bits of a hex key.
const MinDLQKey = 32

// AdminOpen reports a BRIDGE_HTTP_ADDR only this machine reaches: without
// BRIDGE_ADMIN_TOKEN, its pages are served to anyone who asks.
func (c Config) AdminOpen() bool {
	host, _, err := net.SplitHostPort(c.Bridge.HTTPAddr)
	return err == nil && isLoopback(host)
}

// isLoopback reports a host name or address of this machine only.
func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkFile reports a file setting whose path, when set, cannot be found.
func checkFile(env, path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s %q cannot be read: %v; point it at an existing file", env, path, errors.Unwrap(err))
	}
	return nil
}

func checkNATSAuth(n NATS) error {
	var errs []error
	methods := 0
	for _, m := range []bool{n.Creds != "", n.NKey != "", n.Token != "", n.User != "" || n.Password != ""} {
		if m {
			methods++
		}
	}
	if methods > 1 {
		errs = append(errs, errors.New("NATS_CREDS, NATS_NKEY, NATS_TOKEN and NATS_USER/NATS_PASSWORD are alternatives: set only one way to authenticate"))
	}
	if (n.User == "") != (n.Password == "") && n.Context == "" {
		errs = append(errs, errors.New("NATS_USER and NATS_PASSWORD go together: set both or neither"))
	}
	if (n.Cert == "") != (n.Key == "") {
		errs = append(errs, errors.New("NATS_CERT and NATS_KEY go together: set both for mutual TLS, or neither"))
	}
	for _, f := range []struct{ env, path string }{{"NATS_CREDS", n.Creds}, {"NATS_NKEY", n.NKey}, {"NATS_CA", n.CA}, {"NATS_CERT", n.Cert}, {"NATS_KEY", n.Key}} {
		if err := checkFile(f.env, f.path); err != nil {
			errs = append(errs, err)
		}
	}
	for _, sec := range []struct {
		env    string
		v      Secret
		spaces bool
	}{{"NATS_TOKEN", n.Token, true}, {"NATS_PASSWORD", n.Password, false}} {
		if err := checkSecret(sec.env, sec.v, sec.spaces); err != nil {
			errs = append(errs, err)
		}
	}
	if n.URL == "" && methods > 0 {
		errs = append(errs, errors.New("NATS credentials are set but NATS_URL is empty: set NATS_URL to the server they belong to"))
	}
	return errors.Join(errs...)
}

// checkSecret refuses a secret with a line break or another control
// character in it, or white space at either end: most often the last
// newline of the file the value came from, which the server would refuse
// without saying why. A token holds no white space at all; a password may,
// inside. The message never shows the secret.
func checkSecret(env string, s Secret, tokenLike bool) error {
	v := s.Reveal()
	where := "white space at an end or a line break in it"
	bad := strings.ContainsFunc(v, unicode.IsControl) || strings.TrimSpace(v) != v
	if tokenLike {
		where = "white space or a line break in it"
		bad = bad || strings.ContainsFunc(v, unicode.IsSpace)
	}
	if !bad {
		return nil
	}
	return fmt.Errorf("%s has %s: remove it (a value taken from a file, such as a Kubernetes secret made with --from-file or with echo | base64, often keeps the file's last newline)", env, where)
}

// priorityGroupName is what NATS takes as a priority group's name.
var priorityGroupName = regexp.MustCompile(`^[a-zA-Z0-9/_=-]{1,16}$`)

// PullExpiry bounds each pull request the bridge makes.
const PullExpiry = 5 * time.Second

// checkPriority checks how replicas share the consumer.
func (c Config) checkPriority(p *problems) {
	switch c.Bridge.PriorityPolicy {
	case PriorityNone:
		return
	case PriorityPinned, PriorityOverflow:
	default:
		p.add("BRIDGE_PRIORITY_POLICY %q: use none (the default: every replica pulls), pinned_client (one replica pulls, the others stand by) or overflow (extra replicas pull while a backlog waits)", c.Bridge.PriorityPolicy)
		return
	}
	if !priorityGroupName.MatchString(c.Bridge.PriorityGroup) {
		p.add("BRIDGE_PRIORITY_GROUP %q is not a priority group name: use 1 to 16 letters, digits, -, _, / or =, the same for every replica (konnect-bridge is the default)", c.Bridge.PriorityGroup)
	}
	if c.Bridge.PriorityPolicy == PriorityPinned && c.Bridge.PinnedTTL <= PullExpiry {
		p.add("BRIDGE_PINNED_TTL %s is too short: use more than the %s pull expiry (15s is the default), or the pinned replica would lose its pin between two pulls", c.Bridge.PinnedTTL, PullExpiry)
	}
	if c.Bridge.OverflowMinPending < 0 {
		p.add("BRIDGE_OVERFLOW_MIN_PENDING %d is negative: use 0 for a replica that always pulls, or the backlog above which this one joins (1000 is the default)", c.Bridge.OverflowMinPending)
	}
}
