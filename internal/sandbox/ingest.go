package sandbox

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ingest answers POSTs to an ingest path: the Fault first, then auth, body
// size, the schema of the whole body, the WithReject rule; an accepted body is
// stored (deduplicated) before the answer goes out, so a client that sees
// accepted can find its events.
func (s *Sandbox) ingest(accepted int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := Request{At: time.Now(), Path: r.URL.Path, ContentType: r.Header.Get("Content-Type")}
		body, readErr := s.readBody(w, r)
		req.Bytes, req.Events = len(body), countEvents(body)

		token, fault := s.settings()
		if fault != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			rec := &recorder{ResponseWriter: w, answered: func(status int) {
				req.Fault, req.Status = true, status
				s.commit(req, nil)
				s.log.Info().Str("path", req.Path).Int("status", status).Int("events", req.Events).Msg("sandbox fault answered")
			}}
			if fault(rec, r) {
				rec.answer(http.StatusOK) // net/http's answer when the Fault wrote nothing
				return
			}
		}

		events, p := s.judge(r, token, body, readErr)
		if p != nil {
			req.Status, req.Detail = p.Status, p.Detail
			s.commit(req, nil)
			s.log.Warn().Str("path", req.Path).Int("status", p.Status).Int("events", req.Events).Str("detail", p.Detail).Msg("sandbox refused request")
			p.write(w)
			return
		}
		req.Status = accepted
		added, total := s.commit(req, events)
		s.log.Info().Str("path", req.Path).Int("events", len(events)).Int("stored", added).
			Int("duplicates", len(events)-added).Int("total_stored", total).Msg("sandbox accepted events")
		w.WriteHeader(accepted)
	}
}

// readBody reads the body, stopping past the maximum body size if one is set.
func (s *Sandbox) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := r.Body
	if s.maxBody > 0 {
		body = http.MaxBytesReader(w, r.Body, s.maxBody)
	}
	return io.ReadAll(body)
}

// judge returns the events of an acceptable request, or the problem to answer.
func (s *Sandbox) judge(r *http.Request, token string, body []byte, readErr error) ([]Event, *problem) {
	if p := s.authenticate(r, token); p != nil {
		return nil, p
	}
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(readErr, &tooLarge) {
		return nil, s.newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", tooLarge.Limit), nil)
	}
	if readErr != nil {
		return nil, s.newProblem(http.StatusBadRequest, "reading the body: "+readErr.Error(), nil)
	}
	events, v := decode(r.Header.Get("Content-Type"), body)
	if v != nil {
		return nil, s.newProblem(http.StatusBadRequest, v.detail, v.params)
	}
	if s.reject != nil {
		for i, e := range events {
			if detail := s.reject(e); detail != "" {
				field := "body"
				if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
					field = fmt.Sprintf("[%d]", i)
				}
				return nil, s.newProblem(http.StatusBadRequest, detail, []invalidParameter{{Field: field, Rule: "invalid", Source: "body", Reason: detail}})
			}
		}
	}
	return events, nil
}

// authenticate answers 401 unless the request presents token ("" checks
// nothing).
func (s *Sandbox) authenticate(r *http.Request, token string) *problem {
	if token == "" {
		return nil
	}
	const scheme = "Bearer "
	got := r.Header.Get("Authorization")
	if !strings.HasPrefix(got, scheme) {
		return s.newProblem(http.StatusUnauthorized, "missing Authorization: Bearer token", nil)
	}
	if subtle.ConstantTimeCompare([]byte(got[len(scheme):]), []byte(token)) != 1 {
		return s.newProblem(http.StatusUnauthorized, "invalid credentials", nil)
	}
	return nil
}

// countEvents counts the events a body carries, valid or not: the length of
// an array, 1 for an object, 0 when it is not JSON.
func countEvents(body []byte) int {
	var batch []json.RawMessage
	switch trimmed := bytes.TrimSpace(body); {
	case bytes.HasPrefix(trimmed, []byte("[")) && json.Unmarshal(trimmed, &batch) == nil:
		return len(batch)
	case bytes.HasPrefix(trimmed, []byte("{")) && json.Valid(trimmed):
		return 1
	}
	return 0
}
