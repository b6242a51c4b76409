package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/maphash"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// sink is the ingest endpoint the bridge delivers to during the benchmark:
// it checks every body as Konnect does (see parseBatch), answers 202, and
// counts the distinct (source, id) pairs it stored. Unlike the sandbox it
// keeps no events, only a 64-bit hash of each key and, for the events of
// the latency phase, the time they arrived.
type sink struct {
	seed maphash.Seed
	srv  *http.Server
	url  string
	// delay holds every answer back, standing in for the network between
	// the bridge and Konnect.
	delay time.Duration
	// maxBody, when above 0, answers 413 to larger bodies. Konnect
	// publishes no limit; the Kafka behind it caps a message near 1 MB.
	maxBody int64
	// maxActive, when above 0, answers 503 to a request that arrives while
	// that many are being answered, as a Konnect (or a proxy) with a fixed
	// concurrency would.
	maxActive int64
	active    atomic.Int64

	mu       sync.Mutex
	seen     map[uint64]struct{}
	first    time.Time // first new event of the phase
	last     time.Time // last new event of the phase
	received []atomic.Int64

	distinct atomic.Int64
	events   atomic.Int64 // every event accepted, repeats included
	requests atomic.Int64
	rejected atomic.Int64
	// busy counts the 503s past maxActive, and settled and settledBusy the
	// requests and 503s after the phase's first settleTime (once adapted).
	busy, settled, settledBusy atomic.Int64
	started                    atomic.Int64
}

// settleTime is how long the bridge may take to adapt its concurrency
// before the sink's 503s count as settled.
const settleTime = 2 * time.Second

// latencyPrefix marks the ids of the latency phase: "lat-<n>".
const latencyPrefix = "lat-"

// startSink serves the sink on a free port of 127.0.0.1.
func startSink(delay time.Duration, maxBody int64, maxActive int) (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}, delay: delay, maxBody: maxBody, maxActive: int64(maxActive)}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + ln.Addr().String() + "/v3/openmeter/events"
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// reset starts a phase: the counts go to zero and room is made for
// expected events and for latency events "lat-0" to "lat-<latency-1>".
func (s *sink) reset(expected, latency int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = make(map[uint64]struct{}, expected)
	s.first, s.last = time.Time{}, time.Time{}
	s.received = make([]atomic.Int64, latency)
	s.distinct.Store(0)
	s.events.Store(0)
	s.requests.Store(0)
	s.rejected.Store(0)
	s.busy.Store(0)
	s.settled.Store(0)
	s.settledBusy.Store(0)
	s.started.Store(0)
}

// overloaded answers 503 when more than maxActive requests are being
// answered, counting the requests and the 503s.
func (s *sink) overloaded(w http.ResponseWriter) (release func(), refused bool) {
	if s.maxActive <= 0 {
		return func() {}, false
	}
	now := time.Now().UnixNano()
	s.started.CompareAndSwap(0, now)
	settled := now-s.started.Load() > int64(settleTime)
	if settled {
		s.settled.Add(1)
	}
	release = func() { s.active.Add(-1) }
	if s.active.Add(1) <= s.maxActive {
		return release, false
	}
	release()
	s.busy.Add(1)
	if settled {
		s.settledBusy.Add(1)
	}
	problem(w, http.StatusServiceUnavailable, "more requests at once than this Konnect takes")
	return nil, true
}

// window is when the first and the last new event of the phase arrived.
func (s *sink) window() (first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.last
}

// arrival is when latency event n arrived, zero when it has not.
func (s *sink) arrival(n int) time.Time {
	s.mu.Lock()
	r := s.received
	s.mu.Unlock()
	if ns := r[n].Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// waitDistinct polls until n distinct events arrived or within passes.
func (s *sink) waitDistinct(n int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for s.distinct.Load() < int64(n) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

var bodies = sync.Pool{New: func() any { return &request{body: make([]byte, 0, 64<<10)} }}

// request is the buffers of one request, reused across requests.
type request struct {
	body   []byte
	events []ingested
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST events here", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") == "" {
		problem(w, http.StatusUnauthorized, "missing bearer token")
		return
	}
	release, refused := s.overloaded(w)
	if refused {
		return
	}
	defer release()
	single := false
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
	case "application/cloudevents-batch+json", "application/json":
	case "application/cloudevents+json":
		single = true
	default:
		problem(w, http.StatusBadRequest, "unsupported content type "+mt)
		return
	}
	req := bodies.Get().(*request)
	defer bodies.Put(req)
	buf := bytes.NewBuffer(req.body[:0])
	if s.maxBody > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	}
	if _, err := io.Copy(buf, r.Body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			problem(w, http.StatusRequestEntityTooLarge, "the body is larger than "+strconv.FormatInt(tooLarge.Limit, 10)+" bytes")
			return
		}
		problem(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	req.body = buf.Bytes()
	if string(bytes.TrimSpace(req.body)) == "[]" {
		// The bridge's start-up check of the token: it ingests nothing,
		// and is answered as Konnect answers an empty batch.
		problem(w, http.StatusBadRequest, "empty batch")
		return
	}
	var err error
	req.events, err = parseBatch(req.body, single, req.events[:0])
	s.requests.Add(1)
	if err != nil {
		s.rejected.Add(1)
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	s.store(req.events)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	w.WriteHeader(http.StatusAccepted)
}

// store counts the events of one accepted request.
func (s *sink) store(events []ingested) {
	now := time.Now()
	var h maphash.Hash
	h.SetSeed(s.seed)
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh := 0
	for _, e := range events {
		k := key(&h, e.source, e.id)
		if _, ok := s.seen[k]; ok {
			continue
		}
		s.seen[k] = struct{}{}
		fresh++
		if n, ok := bytes.CutPrefix(e.id, []byte(latencyPrefix)); ok {
			if i, err := strconv.Atoi(string(n)); err == nil && i >= 0 && i < len(s.received) {
				s.received[i].Store(now.UnixNano())
			}
		}
	}
	if fresh > 0 {
		if s.first.IsZero() {
			s.first = now
		}
		s.last = now
	}
	s.distinct.Add(int64(fresh))
	s.events.Add(int64(len(events)))
}

// key is what the sink keeps of the event (source, id).
func key(h *maphash.Hash, source, id []byte) uint64 {
	h.Reset()
	_, _ = h.Write(source)
	_ = h.WriteByte(0)
	_, _ = h.Write(id)
	return h.Sum64()
}

// missing returns the ids, of events from source, that the sink has not
// stored, in their order.
func (s *sink) missing(source string, ids []string) []string {
	var h maphash.Hash
	h.SetSeed(s.seed)
	var out []string
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.seen[key(&h, []byte(source), []byte(id))]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// problem answers as Konnect does (the ingest API's problem shape, with
// its trace instance): the bridge sends its token only to a server whose
// tokenless 401 reads so.
func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail,
		"instance": "kong:trace:" + strconv.FormatUint(traces.Add(1), 10)})
}

var traces atomic.Uint64
