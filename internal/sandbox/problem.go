package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// problem is an application/problem+json answer shaped like Konnect's
// (the OpenAPI's BaseError; BadRequestError adds invalid_parameters).
type problem struct {
	Type              string             `json:"type"`
	Title             string             `json:"title"`
	Status            int                `json:"status"`
	Detail            string             `json:"detail"`
	Instance          string             `json:"instance"`
	InvalidParameters []invalidParameter `json:"invalid_parameters,omitempty"`
}

// newProblem numbers the problem's instance like Konnect's correlation ids.
func (s *Sandbox) newProblem(status int, detail string, params []invalidParameter) *problem {
	return &problem{
		Type:              fmt.Sprintf("https://httpstatuses.com/%d", status),
		Title:             http.StatusText(status),
		Status:            status,
		Detail:            detail,
		Instance:          fmt.Sprintf("kong:trace:%d", s.trace.Add(1)),
		InvalidParameters: params,
	}
}

func (p *problem) write(w http.ResponseWriter) {
	body, _ := json.Marshal(p) // a problem always marshals
	w.Header().Set("Content-Type", "application/problem+json")
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="konnect"`)
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}
