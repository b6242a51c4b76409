package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Origin is where a message came from, as dead letters record it.
type Origin struct {
	Subject string
	Stream  string
	// StreamID tells the stream apart from an earlier one of the same name.
	StreamID   string
	Sequence   uint64
	Deliveries uint64
}

// Letters are the dead letters of one message and what they record of it.
type Letters struct {
	// Msg is the message as it came.
	Msg    *nats.Msg
	Origin Origin
	// IDBase is the base of the ids derived for the message's events, and
	// StoredAt the time given to events without one.
	IDBase   string
	StoredAt time.Time
	Dead     []DeadLetter
}

// letterSubject is the subject of one dead letter: unique to the event of
// the message it came from, so storing it again finds it already there.
func (d *DeadLetters) letterSubject(o Origin, base string, dl DeadLetter) string {
	place := "all"
	if dl.Raw != nil {
		place = strconv.Itoa(dl.Index)
	}
	if o.Stream != "" {
		return streamLetterSubject(d.subject, o.StreamID, o.Sequence, place)
	}
	return d.subject + ".core." + subjectToken(base) + "." + place
}

// streamLetterSubject is the subject, under prefix (BRIDGE_DLQ_SUBJECT), of
// the dead letter of a message of stream sequence seq of the stream of
// identity streamID: place is the event's index, or "all" for the whole
// message.
func streamLetterSubject(prefix, streamID string, seq uint64, place string) string {
	return prefix + "." + subjectToken(streamID) + "." + strconv.FormatUint(seq, 10) + "." + place
}

// LetterOf finds the dead letter that holds event index of message seq
// of the stream of identity streamID: the event's own, else the whole
// message's; the one the bridge sealed when someone else's message holds
// its subject. found is false when there is none: the event was never
// dead-lettered, its dead letter was replayed, or the stream is gone.
func (d *DeadLetters) LetterOf(ctx context.Context, streamID string, seq uint64, index int) (st Stored, found bool, err error) {
	dlq, err := d.js.Stream(ctx, d.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return Stored{}, false, nil // deleted, and its dead letters with it
	}
	if err != nil {
		return Stored{}, false, fmt.Errorf("dead-letter stream %s: %w", d.stream, err)
	}
	check, why := d.checker(ctx)
	get := func(subject string) (Stored, bool, error) {
		m, err := dlq.GetLastMsgForSubject(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return Stored{}, false, nil
		}
		if err != nil {
			return Stored{}, false, fmt.Errorf("look up dead letters in %s: %w", d.stream, err)
		}
		return verified(check, why, storedAt(m.Sequence, m.Time, m.Subject, m.Header, m.Data)), true, nil
	}
	// The event's own dead letter, else the whole message's; on either
	// subject, the one the bridge sealed beside someone else's message.
	// Someone else's alone is returned only when nothing better is found,
	// marked as such.
	var foreign *Stored
	for _, place := range []string{strconv.Itoa(index), "all"} {
		subject := streamLetterSubject(d.subject, streamID, seq, place)
		st, found, err := get(subject)
		if err != nil {
			return Stored{}, false, err
		}
		if !found {
			continue
		}
		if st.Auth == Genuine || check == nil {
			return st, true, nil
		}
		if own, ok, err := get(check.aside(subject)); err != nil || ok {
			return own, ok, err
		}
		if foreign == nil {
			foreign = &st
		}
	}
	if foreign != nil {
		return *foreign, true, nil
	}
	return Stored{}, false, nil
}

// subjectToken is s when it is safe as one subject token, else a hash of it.
func subjectToken(s string) string {
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "h" + strconv.FormatUint(fnv64(s), 36)
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// letter is the NATS message of dead letter dl of the message ls holds.
func (d *DeadLetters) letter(ls Letters, dl DeadLetter) *nats.Msg {
	o := ls.Origin
	m := nats.NewMsg(d.letterSubject(o, ls.IDBase, dl))
	if dl.Raw == nil {
		m.Data = ls.Msg.Data
		for k, v := range ls.Msg.Header {
			if strings.HasPrefix(k, "Nats-") {
				k = HeaderOriginal + k
			}
			m.Header[k] = append([]string(nil), v...)
		}
		m.Header.Set(HeaderIDBase, ls.IDBase)
	} else {
		m.Data = dl.Raw
		m.Header.Set(HeaderIndex, strconv.Itoa(dl.Index))
		m.Header.Set(HeaderIDBase, dl.ID)
	}
	m.Header.Set(HeaderStoredAt, ls.StoredAt.UTC().Format(time.RFC3339Nano))
	m.Header.Set(HeaderReason, dl.Reason)
	m.Header.Set(HeaderKind, string(dl.Kind))
	m.Header.Set(HeaderSubject, o.Subject)
	if dl.Status != 0 {
		m.Header.Set(HeaderStatus, strconv.Itoa(dl.Status))
	}
	if o.Stream != "" {
		m.Header.Set(HeaderStream, o.Stream)
		m.Header.Set(HeaderSequence, strconv.FormatUint(o.Sequence, 10))
		m.Header.Set(HeaderDeliveries, strconv.FormatUint(o.Deliveries, 10))
	}
	return m
}

// originalHeaders strips the dead-letter headers and the dead letter's own
// Nats-* headers, and restores the producer's Nats-Msg-Id, for a replay.
// The producer's other Nats-* headers stay out: an expected last sequence
// would refuse the replay forever, a rollup would purge the stream.
func originalHeaders(h nats.Header) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		switch {
		case k == HeaderOriginal+jetstream.MsgIDHeader:
			out[jetstream.MsgIDHeader] = v
		case !strings.HasPrefix(k, headerPrefix) && !strings.HasPrefix(k, "Nats-"):
			out[k] = v
		}
	}
	return out
}
