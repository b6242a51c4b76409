package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Usage adds up the accepted events like the guide's invoice preview: three
// agent_run events are three runs, two for summarizer and one for translator.
type Usage struct {
	Events    int            `json:"events"`
	ByType    map[string]int `json:"by_type"`
	BySubject map[string]int `json:"by_subject"`
	// ByAgentName counts data.agent_name, for the events where it is a string.
	ByAgentName map[string]int `json:"by_agent_name"`
}

// Counts is Usage's counts by type, subject and agent name, for the admin
// server's status page.
func (s *Sandbox) Counts() (byType, bySubject, byAgentName map[string]int) {
	u := s.Usage()
	return u.ByType, u.BySubject, u.ByAgentName
}

// serveEvents answers GET /sandbox/events: the accepted events (the last
// WithKeep of them) as a JSON array, each object byte for byte as it was
// received.
func (s *Sandbox) serveEvents(w http.ResponseWriter, r *http.Request) {
	events := s.Events()
	raws := make([][]byte, len(events))
	for i, e := range events {
		raws[i] = e.Raw
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(append([]byte("["), bytes.Join(raws, []byte(","))...), ']'))
}

// serveUsage answers GET /sandbox/usage with the Usage.
func (s *Sandbox) serveUsage(w http.ResponseWriter, r *http.Request) {
	body, _ := json.Marshal(s.Usage()) // a Usage always marshals
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
