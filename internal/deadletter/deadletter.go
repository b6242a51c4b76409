package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/health"
	"github.com/konnect-bridge/konnect-bridge/internal/metrics"
	"github.com/konnect-bridge/konnect-bridge/internal/natsconn"
)

// Dead-letter headers: the reason and where the message came from. A dead
// letter of a whole message keeps the original headers and payload as
// they were; a dead letter of one event of an array holds that event only.
const (
	HeaderReason     = "Konnect-Bridge-Reason"
	HeaderKind       = "Konnect-Bridge-Reason-Kind"
	HeaderStatus     = "Konnect-Bridge-Konnect-Status"
	HeaderSubject    = "Konnect-Bridge-Subject"
	HeaderStream     = "Konnect-Bridge-Stream"
	HeaderSequence   = "Konnect-Bridge-Sequence"
	HeaderDeliveries = "Konnect-Bridge-Deliveries"
	HeaderIndex      = "Konnect-Bridge-Index"
	HeaderTruncated  = "Konnect-Bridge-Truncated"
	// HeaderBadEvents counts the events of a message dead-lettered whole
	// because too many of them could not be delivered.
	HeaderBadEvents = "Konnect-Bridge-Bad-Events"
	// HeaderIDBase and HeaderStoredAt record what the events of a dead
	// letter were (or would have been) delivered with: the base of their
	// derived ids and the time given to events without one. Replay sends
	// them along and the bridge honours them, so a replayed event keeps
	// its id and its billing period.
	HeaderIDBase   = "Konnect-Bridge-Id-Base"
	HeaderStoredAt = "Konnect-Bridge-Stored-At"
	// HeaderOriginal prefixes the producer's Nats-* headers (Nats-Msg-Id,
	// Nats-Expected-Stream, Nats-TTL, ...), kept under this name so that
	// JetStream does not act on them when storing the dead letter; replay
	// restores them.
	HeaderOriginal = "Konnect-Bridge-Original-"
	headerPrefix   = "Konnect-Bridge-"
)

// DeadLetter is one event (or one whole message) that will never be
// delivered, and why.
type DeadLetter struct {
	// Index is the event's place in its message.
	Index int
	// Raw is the event's own JSON when its message held several events;
	// nil means the whole original message is the dead letter.
	Raw []byte
	// ID is the id the event of Raw was (or would have been) delivered
	// with; a dead letter of the whole message records its IDBase.
	ID     string
	Kind   delivery.Kind
	Reason string
	// Status is Konnect's answer, 0 when the bridge refused the event itself.
	Status int
}

// storeTimeout bounds storing one message's dead letters.
const storeTimeout = 10 * time.Second

// DeadLetters stores dead letters in a JetStream stream of their own, off
// the pull loop and the senders (see Run). Safe for concurrent use.
type DeadLetters struct {
	js      jetstream.JetStream
	subject string
	// subjects captures every dead letter's subject (subject.>).
	subjects string
	stream   string
	maxBytes int64
	// bindOnly: create and change no stream (BRIDGE_BIND_ONLY).
	bindOnly bool
	log      zerolog.Logger
	metrics  *metrics.Metrics
	health   *health.Health
	// retryDelay is how long a message whose dead letters could not be
	// stored waits before it comes back.
	retryDelay time.Duration
	stage      stage
	tracer     tracer

	// key is BRIDGE_DLQ_KEY, stateBucket where the generated key is kept
	// without it (see OpenSeal).
	key         string
	stateBucket string
	mu          sync.Mutex
	sealer      *sealer
	// ephemeral: sealer is a key of this process, tried again for the
	// shared one after sealRetry; sealReplicas is what a bucket created
	// then gets.
	ephemeral    bool
	sealRetry    time.Time
	sealReplicas int
}

// NewDeadLetters stores on subjects under cfg's BRIDGE_DLQ_SUBJECT in
// BRIDGE_DLQ_STREAM. h, when not nil, hears whether storing works.
func NewDeadLetters(js jetstream.JetStream, cfg config.Config, log zerolog.Logger, m *metrics.Metrics, h *health.Health) *DeadLetters {
	d := &DeadLetters{
		js: js, subject: cfg.Bridge.DLQSubject, subjects: natsconn.DeadLetterSubjects(cfg), stream: cfg.Bridge.DLQStream, maxBytes: cfg.Bridge.DLQMaxBytes, bindOnly: cfg.Bridge.BindOnly,
		log: log.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Second}), metrics: m, health: h, retryDelay: cfg.Retry.NakDelay,
		key: cfg.Bridge.DLQKey.Reveal(), stateBucket: cfg.Bridge.StateBucket,
	}
	d.stage = newStage()
	return d
}

// streamConfig is the dead-letter stream the bridge creates: one subject
// per dead letter, at most one message on it and new ones refused, so a
// message that comes back however often, however late, is dead-lettered
// once; bounded in bytes, and when full it refuses new dead letters rather
// than discard those it holds.
func (d *DeadLetters) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:                 d.stream,
		Description:          "konnect-bridge dead letters: events Konnect will not accept, with the reason in headers",
		Subjects:             []string{d.subjects},
		Storage:              jetstream.FileStorage,
		Duplicates:           10 * time.Minute,
		MaxBytes:             d.maxBytes,
		MaxMsgsPerSubject:    1,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
	}
}

// Ensure creates the dead-letter stream when it is missing, and refuses one
// that does not capture the dead-letter subjects. A stream of an earlier
// bridge (which kept every dead letter on one subject) gains the subjects
// and limits of today's.
func (d *DeadLetters) Ensure(ctx context.Context) error {
	want := d.streamConfig()
	s, err := d.js.Stream(ctx, d.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) && d.bindOnly {
		return fmt.Errorf("%w: BRIDGE_DLQ_STREAM %s is missing and BRIDGE_BIND_ONLY is set, so the bridge creates nothing: create it capturing %s, or unset BRIDGE_BIND_ONLY", natsconn.ErrNotBound, d.stream, d.subjects)
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err = d.js.CreateStream(ctx, want); err != nil {
			return fmt.Errorf("create dead-letter stream %s: %w", d.stream, err)
		}
		d.log.Info().Str("stream", d.stream).Str("subjects", want.Subjects[0]).Int64("max_bytes", d.maxBytes).Msg("created the dead-letter stream")
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up dead-letter stream %s: %w", d.stream, err)
	}
	have := s.CachedInfo().Config
	for _, subj := range have.Subjects {
		if config.SubjectCovers(subj, want.Subjects[0]) {
			if have.MaxMsgsPerSubject != 1 || !have.DiscardNewPerSubject {
				d.log.Warn().Str("stream", d.stream).Msg("the dead-letter stream does not keep one message per subject (MaxMsgsPerSubject 1, DiscardNewPerSubject): a message handed back after its duplicate window may be dead-lettered twice")
			}
			return nil
		}
	}
	if have.Description == want.Description && !d.bindOnly {
		return d.upgrade(ctx, s.CachedInfo())
	}
	return fmt.Errorf("BRIDGE_DLQ_STREAM %s exists but does not capture %s (BRIDGE_DLQ_SUBJECT): add that subject to the stream or choose another BRIDGE_DLQ_STREAM", d.stream, d.subjects)
}

// upgrade makes a dead-letter stream of an earlier bridge, which kept
// every dead letter on one subject, capture today's subjects. It never
// drops a dead letter it holds: the one-per-subject limit and the size
// limit are set only where they remove nothing.
func (d *DeadLetters) upgrade(ctx context.Context, info *jetstream.StreamInfo) error {
	want, up := d.streamConfig(), info.Config
	up.Subjects = append(append([]string(nil), up.Subjects...), want.Subjects[0])
	up.Discard = jetstream.DiscardNew
	if up.MaxBytes <= 0 && info.State.Bytes < uint64(d.maxBytes) {
		up.MaxBytes = d.maxBytes
	}
	if info.State.Msgs == 0 {
		up.MaxMsgsPerSubject, up.DiscardNewPerSubject = 1, true
	} else {
		d.log.Warn().Str("stream", d.stream).Uint64("dead_letters", info.State.Msgs).
			Msg("the dead-letter stream holds dead letters of an earlier bridge on one subject: they are kept, and a dead letter may be stored twice until the stream keeps one message per subject (replay or purge them, then nats stream edit --max-msgs-per-subject 1 --discard-per-subject)")
	}
	if _, err := d.js.UpdateStream(ctx, up); err != nil {
		return fmt.Errorf("update dead-letter stream %s to capture %s: %w", d.stream, want.Subjects[0], err)
	}
	d.log.Info().Str("stream", d.stream).Str("subjects", want.Subjects[0]).Msg("the dead-letter stream now captures one subject per dead letter")
	return nil
}

// errStoreStalled marks a dead-letter stream that cannot store.
var errStoreStalled = errors.New("dead letters cannot be stored")

// publish stores one dead letter, sealed, and returns once JetStream
// acknowledged it, or found it already stored. "Already stored" is
// believed of a dead letter the bridge sealed only: someone else's message
// on its subject (a forgery, or a dead letter of a bridge from before
// seals) is left where it is, counted and said, and the dead letter goes
// on a subject beside it that only the key's holder can name.
func (d *DeadLetters) publish(ctx context.Context, m *nats.Msg, kind delivery.Kind, subject string) error {
	d.OpenSeal(ctx, 0)
	d.mu.Lock()
	sl := d.sealer
	d.mu.Unlock()
	taken := ""
	stored, err := d.put(ctx, sl, m)
	var held *heldBy
	if errors.As(err, &held) {
		taken = m.Subject
		m.Subject = sl.aside(m.Subject)
		stored, err = d.put(ctx, sl, m)
	}
	d.traceDeadLetter(m, string(kind), subject, err)
	if streamFull(err) {
		return fmt.Errorf("%w: the dead-letter stream %s is full (%w): its message is held, not acked, until there is room. Replay or purge what it holds (bridge dlq list, bridge dlq replay), or raise its limit (BRIDGE_DLQ_MAX_BYTES, nats stream edit %s --max-bytes)", errStoreStalled, d.stream, err, d.stream)
	}
	if err != nil {
		return fmt.Errorf("%w: stream %s: %w", errStoreStalled, d.stream, err)
	}
	if !stored {
		return nil
	}
	if taken != "" {
		d.metrics.DeadLettersForeign.WithLabelValues(string(held.what)).Inc()
		d.log.Warn().Str("dead_letter", taken).Str("found", string(held.what)).Str("stored_on", m.Subject).
			Msg("a message the bridge did not seal holds this dead letter's subject (forged, or stored by a bridge from before seals): it is left as it is, and the dead letter is stored beside it. Keep producers off BRIDGE_DLQ_SUBJECT.> (see `bridge permissions`)")
	}
	d.metrics.EventsDeadLettered.WithLabelValues(string(kind)).Inc()
	d.log.Warn().Str("kind", string(kind)).Str("reason", m.Header.Get(HeaderReason)).Str("subject", subject).Str("dead_letter", m.Subject).Msg("event dead-lettered")
	d.health.DeadLettered(string(kind), m.Header.Get(HeaderReason)) // the status page's newest dead letters
	return nil
}

// heldBy says a message the bridge did not seal holds a dead letter's
// subject.
type heldBy struct{ what Authenticity }

func (h *heldBy) Error() string {
	return "the subject holds a message the bridge did not seal: " + string(h.what)
}

// put seals m and stores it: stored is false when the dead letter was
// there already, sealed by the bridge; a heldBy error when someone else's
// message is. A dead-letter stream deleted under the bridge is created
// again. A dead letter too large for the server is stored without its
// payload, the reason still whole, rather than handed back forever.
func (d *DeadLetters) put(ctx context.Context, sl *sealer, m *nats.Msg) (stored bool, err error) {
	sl.seal(m)
	ack, err := d.js.PublishMsg(ctx, m)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		d.log.Warn().Str("stream", d.stream).Msg("the dead-letter stream is gone; creating it again")
		if err = d.Ensure(ctx); err == nil {
			ack, err = d.js.PublishMsg(ctx, m)
		}
	}
	if errors.Is(err, nats.ErrMaxPayload) {
		m.Header.Set(HeaderTruncated, fmt.Sprintf("payload of %d bytes left out: larger than the server's max_payload with the reason headers", len(m.Data)))
		m.Data = nil
		sl.seal(m)
		ack, err = d.js.PublishMsg(ctx, m)
	}
	if !alreadyStored(err) && (err != nil || !ack.Duplicate) {
		return err == nil, err
	}
	s, err := d.js.Stream(ctx, d.stream)
	if err != nil {
		return false, fmt.Errorf("look up what holds %s: %w", m.Subject, err)
	}
	there, err := s.GetLastMsgForSubject(ctx, m.Subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, fmt.Errorf("%s was refused as held, and holds nothing now: trying again", m.Subject)
	}
	if err != nil {
		return false, fmt.Errorf("look up what holds %s: %w", m.Subject, err)
	}
	if a := sl.check(there.Subject, there.Header, there.Data); a != Genuine {
		return false, &heldBy{what: a}
	}
	return false, nil
}

// alreadyStored reports the dead-letter stream refusing a second dead
// letter on a subject that holds one (MaxMsgsPerSubject 1,
// DiscardNewPerSubject): the dead letter is safe.
func alreadyStored(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeStoreFailed &&
		strings.Contains(apiErr.Description, "maximum messages per subject exceeded")
}

// streamFull reports the dead-letter stream refusing a dead letter for its
// size limit (MaxBytes with DiscardNew).
func streamFull(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "maximum bytes")
}

// errCodeStoreFailed is JetStream's code for a message the stream would
// not store, its description saying why.
const errCodeStoreFailed jetstream.ErrorCode = 10077
