package deadletter

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// sealed is a dead letter as the bridge stores one, sealed with key.
func sealed(key string) *nats.Msg {
	m := nats.NewMsg("dlq.agent.runs.AGENT_RUNS-x.7.all")
	m.Header.Set(HeaderSubject, "agent.runs.acme")
	m.Header.Set(HeaderKind, "invalid")
	m.Header.Set(HeaderReason, "invalid event: type: required")
	m.Header["Traceparent"] = []string{"00-a-b-01"}
	m.Data = []byte(`{"specversion":"1.0","id":"r1"}`)
	newSealer([]byte(key)).seal(m)
	return m
}

// Any change to what a dead letter holds, where it is or what it says of
// itself breaks its seal; a seal of another key is told apart from a
// forgery, and no seal is told as such.
func TestSealTellsTheBridgesDeadLettersFromAnyoneElses(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	s := newSealer([]byte(key))
	if got := s.check(sealed(key).Subject, sealed(key).Header, sealed(key).Data); got != Genuine {
		t.Fatalf("the bridge's own dead letter reads as %s", got)
	}
	changes := map[string]func(m *nats.Msg){
		"another subject":  func(m *nats.Msg) { m.Subject = "dlq.agent.runs.AGENT_RUNS-x.8.all" },
		"another customer": func(m *nats.Msg) { m.Header.Set(HeaderSubject, "agent.runs.globex") },
		"another reason":   func(m *nats.Msg) { m.Header.Set(HeaderReason, "nothing to see") },
		"a header added":   func(m *nats.Msg) { m.Header.Set(HeaderStatus, "400") },
		"a header removed": func(m *nats.Msg) { m.Header.Del("Traceparent") },
		"a value added":    func(m *nats.Msg) { m.Header.Add("Traceparent", "00-c-d-01") },
		"values moved": func(m *nats.Msg) {
			m.Header.Set(HeaderKind, "invalidinvalid event: type: required")
			m.Header.Set(HeaderReason, "")
		},
		"another payload": func(m *nats.Msg) { m.Data = []byte(`{"specversion":"1.0","id":"r2"}`) },
		"no payload":      func(m *nats.Msg) { m.Data = nil },
		"a made-up MAC": func(m *nats.Msg) {
			v := m.Header.Get(HeaderSeal)
			m.Header.Set(HeaderSeal, v[:strings.LastIndexByte(v, '.')]+".AAAA")
		},
		"a seal of another kind": func(m *nats.Msg) { m.Header.Set(HeaderSeal, "v2."+s.id+".AAAA") },
	}
	for name, change := range changes {
		m := sealed(key)
		change(m)
		if got := s.check(m.Subject, m.Header, m.Data); got != Forged {
			t.Errorf("%s: reads as %s, want %s", name, got, Forged)
		}
	}
	// JetStream's own headers on a stored message are not the bridge's to seal.
	m := sealed(key)
	m.Header.Set("Nats-Sequence", "12")
	if got := s.check(m.Subject, m.Header, m.Data); got != Genuine {
		t.Errorf("with JetStream's Nats-Sequence: reads as %s, want %s", got, Genuine)
	}
	other := sealed("fedcba9876543210fedcba9876543210")
	if got := s.check(other.Subject, other.Header, other.Data); got != OtherKey {
		t.Errorf("sealed with another key: reads as %s, want %s", got, OtherKey)
	}
	m = sealed(key)
	m.Header.Del(HeaderSeal)
	if got := s.check(m.Subject, m.Header, m.Data); got != Unsealed {
		t.Errorf("without a seal: reads as %s, want %s", got, Unsealed)
	}
	if a, b := s.aside(m.Subject), newSealer([]byte(strings.ToUpper(key))).aside(m.Subject); a == b || a != s.aside(m.Subject) || !strings.HasPrefix(a, m.Subject+".") {
		t.Errorf("the subject beside %s is %s (another key: %s): want one under it, the same each time, that another key does not name", m.Subject, a, b)
	}
}

// Whatever a writer on the dead-letter subjects puts in a message, the
// reader never takes it for the bridge's, never panics, and replay
// refuses it unless told to take unsealed dead letters.
func FuzzDeadLetterReaderRefusesForgeries(f *testing.F) {
	genuine := sealed("0123456789abcdef0123456789abcdef")
	f.Add(genuine.Subject, HeaderReason, "x", genuine.Header.Get(HeaderSeal), genuine.Data)
	f.Add("dlq.agent.runs.x.1.all", HeaderSubject, "agent.runs.globex", "", []byte(`{"specversion":"1.0"}`))
	f.Add("", "", "", "v1..", []byte{})
	f.Add("dlq.\x1b[2J", HeaderKind, "\x00\xff", "v1.zz.\n", []byte("\x1b]0;owned\x07"))
	s := newSealer([]byte("0123456789abcdef0123456789abcdef"))
	f.Fuzz(func(t *testing.T, subject, name, value, seal string, data []byte) {
		h := nats.Header{}
		for k, v := range genuine.Header {
			h[k] = append([]string(nil), v...)
		}
		if name != "" {
			h[name] = append(h[name], value)
		}
		h.Set(HeaderSeal, seal)
		st := verified(s, "", storedAt(1, time.Time{}, subject, h, data))
		same := subject == genuine.Subject && string(data) == string(genuine.Data) && (name == "" || strings.HasPrefix(name, "Nats-") || name == HeaderSeal) && seal == genuine.Header.Get(HeaderSeal)
		if st.Auth == Genuine && !same {
			t.Fatalf("a message changed from the bridge's reads as genuine: subject %q, %s=%q, seal %q", subject, name, value, seal)
		}
		if st.Auth != Genuine && refusal(st, ReplayOptions{}) == "" {
			t.Fatalf("replay takes a dead letter that reads as %s", st.Auth)
		}
		_ = st.Authenticity()
	})
}
