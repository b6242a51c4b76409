// Package sandbox is an in-process stand-in for Kong Konnect's metering ingest
// endpoint. It owns a Konnect-shaped HTTP handler that enforces the ingest
// contract (konnect/INGEST.md: the MeteringEvent schema, whole-batch rejection,
// (source, id) deduplication, bearer auth), keeps the accepted events in memory
// and adds them up like the guide's invoice preview. Its read API serves the
// meters, customers, features, plans and subscriptions it is given, and
// charges the events like Konnect's billing does. Tests can tell it to fail.
//
// It never forwards events anywhere and never persists them: it is for
// development and tests, not for production. WithKeep bounds its memory.
package sandbox

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Sandbox accepts events like Konnect does. It is an http.Handler; all its
// methods are safe for concurrent use, also while it serves requests.
type Sandbox struct {
	mux     *http.ServeMux
	maxBody int64
	reject  func(Event) string
	log     zerolog.Logger
	trace   atomic.Uint64 // numbers problem instances, like Konnect's kong:trace ids

	keep int // 0: keep everything
	// keepBytes bounds the bytes of events kept, with keep.
	keepBytes int
	window    int // 0: remember every key

	mu     sync.Mutex
	token  string
	fault  Fault
	events []Event // the last keep (up to twice as many before a trim)
	// keptBytes adds up the bytes of events, with WithKeep.
	keptBytes int
	requests  []Request
	usage     Usage // every event accepted
	seen      map[dedupeKey]struct{}
	order     []dedupeKey // with a window: the keys remembered, oldest at oldest
	oldest    int
	billing   billing // meters and customers, for the read API (billing.go)

	// readAnswers are the statuses reads answer instead, by path (SetReadAnswer).
	readAnswers map[string]int
	lost        map[string]bool // ids of events ingest accepts and drops (Lose)
}

// Event is one accepted event. Raw is the event object exactly as received;
// the other fields are its attributes ("" when absent or null, Data nil).
// Data and Raw are shared with the sandbox: read them, do not change them.
type Event struct {
	ID, Source, Type, Subject, Time, DataContentType, DataSchema string

	Data json.RawMessage
	Raw  json.RawMessage
	// Stored is when the sandbox stored it.
	Stored time.Time
}

// Request is one POST to an ingest path, recorded as it is answered: before
// the client can see the answer, so a client that got one finds it here.
type Request struct {
	At          time.Time // when it arrived
	Path        string
	ContentType string // the Content-Type header as sent
	Bytes       int    // body bytes read; stops at the maximum body size
	Events      int    // events in the body: array length, 1 for an object, 0 when not JSON
	Status      int    // status answered; 0 when a Fault took the connection without answering
	Detail      string // the problem's detail when the sandbox refused the request
	Fault       bool   // answered by the Fault rather than by the sandbox
}

// Option configures a Sandbox.
type Option func(*Sandbox)

// WithToken makes every ingest request present "Authorization: Bearer token";
// others are answered 401. Without it (or with ""), no auth is checked.
func WithToken(token string) Option { return func(s *Sandbox) { s.token = token } }

// WithMaxBodyBytes answers 413 to bodies larger than n bytes (n <= 0: no limit,
// Konnect's default as none is published).
func WithMaxBodyBytes(n int64) Option { return func(s *Sandbox) { s.maxBody = n } }

// WithReject adds a rule the bridge cannot know: after the schema checks pass,
// reject is called for each event of the request, and the first non-empty
// answer rejects the whole request with 400 and that detail. It is called
// concurrently when requests are.
func WithReject(reject func(Event) string) Option { return func(s *Sandbox) { s.reject = reject } }

// WithFault installs a Fault from the start; see SetFault.
func WithFault(f Fault) Option { return func(s *Sandbox) { s.fault = f } }

// WithLogger logs one line per ingest request answered (dev mode). By default
// nothing is logged. The token never reaches a log line.
func WithLogger(log zerolog.Logger) Option { return func(s *Sandbox) { s.log = log } }

// New returns a sandbox that accepts events like Konnect does, serving
//
//	POST /v3/openmeter/events      202 (Konnect)
//	POST /api/v3/openmeter/events  202 (self-hosted OpenMeter)
//	POST /api/v1/events            204 (self-hosted OpenMeter v1)
//	GET  /sandbox/events           the accepted events, a JSON array in acceptance order
//	GET  /sandbox/usage            the Usage, as JSON
//
// and the read API of Konnect's Metering & Billing (reads.go).
func New(opts ...Option) *Sandbox {
	s := &Sandbox{seen: map[dedupeKey]struct{}{}, usage: newUsage(), log: zerolog.Nop()}
	s.billing.created = time.Now().UTC().Truncate(time.Second)
	for _, opt := range opts {
		opt(s)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /v3/openmeter/events", s.ingest(http.StatusAccepted))
	s.mux.HandleFunc("POST /api/v3/openmeter/events", s.ingest(http.StatusAccepted))
	s.mux.HandleFunc("POST /api/v1/events", s.ingest(http.StatusNoContent))
	s.mux.HandleFunc("GET /sandbox/events", s.serveEvents)
	s.mux.HandleFunc("GET /sandbox/usage", s.serveUsage)
	s.routeReads()
	return s
}

// ServeHTTP answers like Konnect's ingest endpoint; unknown paths get 404 and
// known paths with the wrong method 405.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetToken changes the token requests must present, e.g. to simulate an
// expired token and then a fixed one. "" turns auth off.
func (s *Sandbox) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetFault installs f for the ingest requests that arrive from now on; nil
// removes it.
func (s *Sandbox) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Lose makes ingest accept the events with these ids, of any source, and
// drop them, as a Konnect that answered 202 and then lost them would: no
// meter counts them, Events and Usage leave them out, and a resend is
// stored once Lose no longer names them. Lose() loses none again.
func (s *Sandbox) Lose(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost = map[string]bool{}
	for _, id := range ids {
		s.lost[id] = true
	}
}

// Events returns the accepted events, deduplicated, in acceptance order:
// all of them, or the last WithKeep of them.
func (s *Sandbox) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(last(s.events, s.keep))
}

// Usage adds up every accepted event, also those no longer kept.
func (s *Sandbox) Usage() Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage.clone()
}

// Requests returns every POST to an ingest path answered so far (or the
// last WithKeep of them), in the order answered.
func (s *Sandbox) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(last(s.requests, s.keep))
}

// settings returns what may change at run time.
func (s *Sandbox) settings() (token string, fault Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token, s.fault
}

// commit stores the events not seen before and records the request, in one
// step so a test that sees the request also sees its events. It returns how
// many events were new and how many were accepted in all.
func (s *Sandbox) commit(req Request, events []Event) (added, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		if s.lost[e.ID] || !s.remember(keyOf(e.Source, e.ID)) {
			continue
		}
		e.Stored = req.At
		s.count(e)
		s.keepEvent(e)
		added++
	}
	s.requests = trim(append(s.requests, req), s.keep)
	return added, s.usage.Events
}
