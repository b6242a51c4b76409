package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/konnect-bridge/konnect-bridge/config"
	"github.com/konnect-bridge/konnect-bridge/internal/delivery"
	"github.com/konnect-bridge/konnect-bridge/internal/event/decode"
	"github.com/konnect-bridge/konnect-bridge/internal/fence"
)

// Stored is a dead letter as the dead-letter stream keeps it.
type Stored struct {
	Seq     uint64
	Time    time.Time
	Subject string // where the event was first published
	Kind    string
	Reason  string
	Status  int
	Header  nats.Header
	Data    []byte
	// Letter is the dead letter's own subject, under BRIDGE_DLQ_SUBJECT.
	Letter string
	// Auth is who wrote it, as its seal says; Unchecked with the reason
	// in AuthNote when there is no key to check with.
	Auth     Authenticity
	AuthNote string
}

// Authenticity says in words whose dead letter this is.
func (s Stored) Authenticity() string {
	switch s.Auth {
	case Genuine:
		return "sealed by the bridge"
	case Unsealed:
		return "NOT SEALED: forged, or stored by a bridge from before seals"
	case Forged:
		return "FORGED: its seal does not match what it holds"
	case OtherKey:
		return "sealed with a key this bridge does not have: BRIDGE_DLQ_KEY changed, a bridge that could not keep its key, or a forgery (a key id proves nothing)"
	}
	return "not checked: " + s.AuthNote
}

// verified is st with what check says of its seal.
func verified(check *sealer, why string, st Stored) Stored {
	if check == nil {
		st.Auth, st.AuthNote = Unchecked, why
	} else {
		st.Auth = check.check(st.Letter, st.Header, st.Data)
	}
	return st
}

// Filter picks dead letters; its zero value picks every one.
type Filter struct {
	// Seq picks the one dead letter with this sequence.
	Seq uint64
	// Kind picks one kind (invalid, rejected, ...).
	Kind string
	// Subject picks the original subjects it matches (wildcards allowed).
	Subject string
	// Since picks dead letters stored at or after it.
	Since time.Time
}

func (f Filter) picks(s Stored) bool {
	return (f.Seq == 0 || s.Seq == f.Seq) && (f.Kind == "" || s.Kind == f.Kind) &&
		(f.Subject == "" || config.SubjectMatches(f.Subject, s.Subject)) && !s.Time.Before(f.Since)
}

// Each calls fn for every dead letter f picks, oldest first, one at a time
// (however many there are, only a page is held), until fn returns an
// error or none are left.
func (d *DeadLetters) Each(ctx context.Context, f Filter, fn func(Stored) error) error {
	s, err := d.js.Stream(ctx, d.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil // no dead letters yet
	}
	if err != nil {
		return fmt.Errorf("dead-letter stream %s: %w", d.stream, err)
	}
	state := s.CachedInfo().State
	if state.Msgs == 0 {
		return nil
	}
	// Dead letters stored from here on (a replayed event refused again)
	// are left for another run: a replay never chases its own tail.
	last := state.LastSeq
	check, why := d.checker(ctx)
	c, err := s.OrderedConsumer(ctx, f.start())
	if err != nil {
		return fmt.Errorf("read dead-letter stream %s: %w", d.stream, err)
	}
	for {
		batch, err := c.Fetch(100, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		n := 0
		var pending uint64
		for msg := range batch.Messages() {
			n++
			md, err := msg.Metadata()
			if err != nil {
				return err
			}
			pending = md.NumPending
			if md.Sequence.Stream > last {
				return nil
			}
			st := verified(check, why, stored(msg, md))
			if !f.picks(st) {
				continue
			}
			if err := fn(st); err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if n == 0 || pending == 0 || (f.Seq != 0 && n > 0) {
			return nil
		}
	}
}

// start is where reading for f starts: at its sequence or time, else at
// the oldest dead letter.
func (f Filter) start() jetstream.OrderedConsumerConfig {
	oc := jetstream.OrderedConsumerConfig{}
	switch {
	case f.Seq != 0:
		oc.DeliverPolicy, oc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, f.Seq
	case !f.Since.IsZero():
		oc.DeliverPolicy, oc.OptStartTime = jetstream.DeliverByStartTimePolicy, &f.Since
	}
	return oc
}

// stored reads a dead letter from its message and headers.
func stored(msg jetstream.Msg, md *jetstream.MsgMetadata) Stored {
	return storedAt(md.Sequence.Stream, md.Timestamp, msg.Subject(), msg.Headers(), msg.Data())
}

// storedAt is the dead letter of sequence seq on subject, stored at t,
// from its headers and data.
func storedAt(seq uint64, t time.Time, subject string, h nats.Header, data []byte) Stored {
	status, _ := strconv.Atoi(h.Get(HeaderStatus))
	return Stored{
		Seq: seq, Time: t, Subject: h.Get(HeaderSubject), Letter: subject,
		Kind: h.Get(HeaderKind), Reason: h.Get(HeaderReason), Status: status, Header: h, Data: data,
	}
}

// ErrNotReplayed says some dead letters picked for replay were kept: no
// stream or bridge took them, or they were refused (not sealed by the
// bridge, or outside the fence). The report says which and why.
var ErrNotReplayed = errors.New("some dead letters were not replayed and are kept")

// ReplayOptions says how a replay runs.
type ReplayOptions struct {
	// Stream is the stream the bridge reads (BRIDGE_STREAM): a dead letter
	// stored again anywhere else is not safe.
	Stream string
	// Timeout bounds the wait for a bridge reading core NATS to answer.
	Timeout time.Duration
	// DryRun sends and removes nothing.
	DryRun bool
	// Unverified replays dead letters the bridge did not seal too.
	Unverified bool
	// Fence (BRIDGE_FENCE_SUBJECTS) is checked for every event against
	// the subject it was first published on, before it is sent.
	Fence *fence.Rule
}

// ReplayCounts is what became of the dead letters a replay picked.
type ReplayCounts struct {
	// Replayed: a bridge answered that Konnect accepted them.
	Replayed int
	// Stored: the stream the bridge reads stored them again, and the bridge
	// delivers them from there.
	Stored int
	// Kept: sent, but not safe yet (no stream or bridge took them), or
	// safe but not removed; kept in the dead-letter stream.
	Kept int
	// Refused: not sent, for they are not the bridge's or the fence
	// refuses them; kept in the dead-letter stream.
	Refused int
	// Would: a dry run's, those it would send.
	Would int
}

func (c ReplayCounts) String() string {
	s := fmt.Sprintf("replayed %d, stored %d, kept %d, refused %d", c.Replayed, c.Stored, c.Kept, c.Refused)
	if c.Would > 0 {
		s = fmt.Sprintf("dry run: would send %d; %s", c.Would, s)
	}
	return s
}

// Replay sends the dead letters f picks back the way they came, each as
// the very event it was (the same id and time, recorded when it was
// dead-lettered), and removes a dead letter only once its event is safe:
// a dead letter from a stream is removed after the stream the bridge reads
// acknowledged the republished message; one from a core NATS producer is
// sent as a request and removed after a bridge answers that Konnect
// accepted it (or a stream stored it). A dead letter the bridge did not
// seal is refused unless o.Unverified, and one with an event the fence
// refuses on its original subject always is. Everything not removed is
// kept, and then the run ends with ErrNotReplayed. report is called once
// per dead letter with what became of it.
func (d *DeadLetters) Replay(ctx context.Context, f Filter, o ReplayOptions, report func(Stored, string)) (n ReplayCounts, err error) {
	if f.Seq != 0 && f.Kind == "" && f.Subject == "" {
		found := false
		defer func() {
			if err == nil && !found {
				err = fmt.Errorf("no dead letter with sequence %d in %s", f.Seq, d.stream)
			}
		}()
		report = func(next func(Stored, string)) func(Stored, string) {
			return func(s Stored, what string) { found = true; next(s, what) }
		}(report)
	}
	dlqStream, err := d.js.Stream(ctx, d.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return n, nil // no dead letters
	}
	if err != nil {
		return n, fmt.Errorf("dead-letter stream %s: %w", d.stream, err)
	}
	err = d.Each(ctx, f, func(s Stored) error {
		if why := refusal(s, o); why != "" {
			n.Refused++
			report(s, "refused: "+why)
			return nil
		}
		m, how := replayMsg(s)
		if o.DryRun {
			n.Would++
			report(s, "would replay to "+s.Subject+" "+how)
			return nil
		}
		why, stored := "", true
		if how == viaStream {
			why = d.replayToStream(ctx, m, o.Stream)
		} else {
			why, stored = d.replayToBridge(m, o.Timeout, o.Stream)
		}
		if why == "" {
			if err := dlqStream.DeleteMsg(ctx, s.Seq); err != nil {
				// Its event is safe; replaying it again resends the same
				// event, which Konnect deduplicates.
				why = "replayed, but not removed: " + err.Error()
			}
		}
		switch {
		case why != "":
			n.Kept++
			report(s, "kept: "+why)
		case stored:
			n.Stored++
			report(s, "stored again in "+o.Stream+" (the bridge delivers it from there), sent to "+s.Subject+" "+how)
		default:
			n.Replayed++
			report(s, "replayed to "+s.Subject+" "+how+": Konnect accepted it")
		}
		return nil
	})
	if err == nil && n.Kept+n.Refused > 0 {
		err = fmt.Errorf("%w: %d kept, %d refused", ErrNotReplayed, n.Kept, n.Refused)
	}
	return n, err
}

// refusal says why s is not sent at all, or "".
func refusal(s Stored, o ReplayOptions) string {
	switch {
	case s.Auth != Genuine && !o.Unverified:
		return s.Authenticity() + "; replay it with --unverified only if you know who wrote it"
	case s.Subject == "":
		return "it names no subject it was first published on (" + HeaderSubject + ")"
	}
	if o.Fence == nil {
		return ""
	}
	for _, e := range decode.Decode(originalHeaders(s.Header), s.Data) {
		if e.Err != nil {
			continue // never delivered: it is dead-lettered again
		}
		if err := o.Fence.Admit(e.Event, s.Subject); err != nil {
			return "the fence refuses it on " + s.Subject + ": " + err.Error()
		}
	}
	return ""
}

const (
	viaStream = "through JetStream"
	viaBridge = "as a request to a bridge reading core NATS"
)

// replayMsg is the message a dead letter is replayed as: the original
// payload and headers, with the id base and time its events had.
func replayMsg(s Stored) (*nats.Msg, string) {
	m := &nats.Msg{Subject: s.Subject, Header: originalHeaders(s.Header), Data: s.Data}
	base, stored := s.Header.Get(HeaderIDBase), s.Header.Get(HeaderStoredAt)
	if base == "" {
		base = legacyIDBase(s.Header)
	}
	if stored == "" {
		stored = s.Time.UTC().Format(time.RFC3339Nano)
	}
	if base != "" {
		m.Header.Set(HeaderIDBase, base)
	}
	m.Header.Set(HeaderStoredAt, stored)
	if s.Header.Get(HeaderStream) == "" {
		return m, viaBridge
	}
	return m, viaStream
}

// legacyIDBase recovers the id base of a dead letter stored before dead
// letters recorded it: the producer's Nats-Msg-Id, else the stream identity
// and sequence the dead letter's own message id was made of.
func legacyIDBase(h nats.Header) string {
	base := h.Get(HeaderOriginal + jetstream.MsgIDHeader)
	if base == "" {
		// dlq/<stream id>/<sequence>/<index>
		parts := strings.Split(h.Get(jetstream.MsgIDHeader), "/")
		if len(parts) != 4 || parts[0] != "dlq" {
			return ""
		}
		base = parts[1] + "-" + parts[2]
	}
	if i := h.Get(HeaderIndex); i != "" {
		base += "/" + i
	}
	return base
}

// replayToStream publishes m and says why the event is not safe, or ""
// once stream stored it. A producer's Nats-Msg-Id still in the stream's
// duplicate window would drop it: it goes again without one, its id kept
// by the recorded id base.
func (d *DeadLetters) replayToStream(ctx context.Context, m *nats.Msg, stream string) string {
	ack, err := d.js.PublishMsg(ctx, m)
	if err == nil && ack.Duplicate {
		m.Header.Del(jetstream.MsgIDHeader)
		ack, err = d.js.PublishMsg(ctx, m)
	}
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders):
		return "no stream captures " + m.Subject + " (create " + stream + " or fix BRIDGE_SUBJECT)"
	case err != nil:
		return err.Error()
	case ack.Stream != stream:
		return "stream " + ack.Stream + " stored it, not " + stream + " which the bridge reads"
	}
	return ""
}

// replayToBridge sends m to a bridge reading core NATS and says why the
// event is not safe, or "" once Konnect accepted it (stored false) or a
// stream stored it (stored true).
//
// A stream that captures the subject answers the request too, with a
// PubAck: the event is then stored, as safe as any other, and the bridge
// reading that stream delivers it. Taking that answer for a failure would
// keep the dead letter, and a second replay would send the event again.
func (d *DeadLetters) replayToBridge(m *nats.Msg, timeout time.Duration, stream string) (why string, stored bool) {
	resp, err := d.js.Conn().RequestMsg(m, timeout)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return "no bridge reads core NATS on " + m.Subject + " (run one with BRIDGE_CORE_SUBJECT covering it)", false
	case err != nil:
		return "no answer from a bridge: " + err.Error(), false
	}
	if why, ok := pubAckAnswer(resp.Data, stream); ok {
		return why, true
	}
	a, err := delivery.ParseAnswer(resp.Data)
	switch {
	case err != nil:
		return "the answer was not a bridge's: " + err.Error(), false
	case a.Status == delivery.AnswerAccepted && a.DeadLettered == 0:
		return "", false
	case a.Status == delivery.AnswerAccepted:
		return fmt.Sprintf("%d of its events were dead-lettered again (the rest were delivered)", a.DeadLettered), false
	case a.Status == delivery.AnswerDeadLettered:
		return "dead-lettered again: " + a.Reason, false
	}
	return "the bridge asks to send it again later: " + a.Reason, false
}

// pubAckAnswer reads an answer that is JetStream's rather than a bridge's:
// ok is false when it is not a PubAck. why is "" once the stream the bridge
// reads stored the event.
func pubAckAnswer(data []byte, stream string) (why string, ok bool) {
	var a struct {
		Stream string `json:"stream"`
		Seq    uint64 `json:"seq"`
		Error  *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &a) != nil || (a.Stream == "" && a.Error == nil) {
		return "", false
	}
	switch {
	case a.Error != nil:
		return "JetStream refused it: " + a.Error.Description, true
	case a.Stream != stream:
		return "stream " + a.Stream + " stored it, not " + stream + " which the bridge reads", true
	}
	return "", true
}
