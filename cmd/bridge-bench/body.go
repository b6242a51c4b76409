package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ingested is what the sink keeps of one event: the raw (source, id) it is
// deduplicated on. Both slices point into the request body.
type ingested struct {
	source, id []byte
}

// parseBatch checks a request body the way Konnect's ingest does before it
// stores anything: a JSON array of MeteringEvents (or one event when single
// is true), every event with the required attributes and nothing else. One
// bad event rejects the whole body. It appends the events to out.
//
// It is a hand-written walk over bytes that json.Valid has already
// accepted, so that the sink costs a small fraction of what the bridge
// does and never decides the throughput it measures.
func parseBatch(body []byte, single bool, out []ingested) ([]ingested, error) {
	if !json.Valid(body) {
		return out, errors.New("body is not JSON")
	}
	s := scanner{b: body}
	s.space()
	if single || s.peek() == '{' {
		if !single {
			return out, errors.New("body is not a JSON array of events")
		}
		e, err := s.event()
		return append(out, e), err
	}
	if s.peek() != '[' {
		return out, errors.New("body is not a JSON array of events")
	}
	s.i++
	for n := 0; ; n++ {
		s.space()
		if s.peek() == ']' {
			if n == 0 {
				return out, errors.New("empty batch")
			}
			return out, nil
		}
		if n > 0 {
			s.i++ // ','
			s.space()
		}
		e, err := s.event()
		if err != nil {
			return out, fmt.Errorf("event %d: %w", n, err)
		}
		out = append(out, e)
	}
}

// scanner walks JSON that is known to be valid.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte { return s.b[s.i] }

func (s *scanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\n' || s.b[s.i] == '\t' || s.b[s.i] == '\r') {
		s.i++
	}
}

// str reads a string at s.i and returns its raw content, escapes included.
func (s *scanner) str() []byte {
	start := s.i + 1
	for s.i = start; s.b[s.i] != '"'; s.i++ {
		if s.b[s.i] == '\\' {
			s.i++
		}
	}
	s.i++
	return s.b[start : s.i-1]
}

// skip passes over one value.
func (s *scanner) skip() {
	switch s.b[s.i] {
	case '"':
		s.str()
	case '{', '[':
		for depth := 0; ; {
			switch s.b[s.i] {
			case '"':
				s.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.i++
			if depth == 0 {
				return
			}
		}
	default: // a number, true, false or null
		for s.i < len(s.b) && !bytes.ContainsAny(s.b[s.i:s.i+1], ",}] \t\r\n") {
			s.i++
		}
	}
}

// attribute flags, one bit per MeteringEvent attribute.
const (
	hasID = 1 << iota
	hasSource
	hasSpecVersion
	hasType
	hasSubject
	hasOther
)

// event reads one MeteringEvent object and checks it.
func (s *scanner) event() (ingested, error) {
	var e ingested
	if s.peek() != '{' {
		return e, errors.New("not a JSON object")
	}
	s.i++
	seen := 0
	for first := true; ; first = false {
		s.space()
		if s.peek() == '}' {
			s.i++
			break
		}
		if !first {
			s.i++ // ','
			s.space()
		}
		key := s.str()
		s.space()
		s.i++ // ':'
		s.space()
		isString, isNull := s.peek() == '"', s.peek() == 'n'
		var v []byte
		if isString {
			v = s.str()
		} else {
			start := s.i
			s.skip()
			v = s.b[start:s.i]
		}
		if err := e.check(key, v, isString, isNull, &seen); err != nil {
			return e, err
		}
	}
	for _, r := range []struct {
		bit  int
		name string
	}{{hasID, "id"}, {hasSource, "source"}, {hasSpecVersion, "specversion"}, {hasType, "type"}, {hasSubject, "subject"}} {
		if seen&r.bit == 0 {
			return e, fmt.Errorf("%s: required", r.name)
		}
	}
	return e, nil
}

// check checks attribute key of value v (a string's raw content, or the
// JSON of any other value), keeps the id and source, and marks in seen the
// required attributes found.
func (e *ingested) check(key, v []byte, isString, isNull bool, seen *int) error {
	required := func(bit int) error {
		if !isString || len(bytes.TrimSpace(v)) == 0 {
			return fmt.Errorf("%s: required, must be a non-empty string", key)
		}
		*seen |= bit
		return nil
	}
	switch string(key) { // no allocation: the compiler compares the bytes
	case "id":
		e.id = v
		return required(hasID)
	case "source":
		e.source = v
		return required(hasSource)
	case "type":
		return required(hasType)
	case "subject":
		return required(hasSubject)
	case "specversion":
		if err := required(hasSpecVersion); err != nil {
			return err
		}
		if string(v) != "1.0" {
			return fmt.Errorf("specversion: %q is not 1.0", v)
		}
	case "time":
		if isNull {
			return nil
		}
		if !isString {
			return errors.New("time: must be an RFC 3339 string")
		}
		if _, err := time.Parse(time.RFC3339, string(v)); err != nil {
			return fmt.Errorf("time: %q is not RFC 3339", v)
		}
	case "data":
		if !isNull && v[0] != '{' {
			return errors.New("data: must be a JSON object or null")
		}
	case "datacontenttype":
		if !isNull && (!isString || string(v) != "application/json") {
			return fmt.Errorf("datacontenttype: %s is not application/json", v)
		}
	case "dataschema":
		if !isNull && (!isString || len(v) == 0) {
			return errors.New("dataschema: must be a URI")
		}
	default:
		return fmt.Errorf("%s: additional properties are not allowed", key)
	}
	return nil
}
