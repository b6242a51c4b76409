package sandbox_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/konnect-bridge/konnect-bridge/internal/sandbox"
)

func TestToken(t *testing.T) {
	tests := map[string]struct {
		headers []string
		want    int
	}{
		"no Authorization":     {nil, http.StatusUnauthorized},
		"wrong token":          {[]string{"Authorization: Bearer spat_expired"}, http.StatusUnauthorized},
		"basic auth":           {[]string{"Authorization: Basic c3BhdF9vaw=="}, http.StatusUnauthorized},
		"token without scheme": {[]string{"Authorization: spat_ok"}, http.StatusUnauthorized},
		"bearer token":         {[]string{"Authorization: Bearer spat_ok"}, http.StatusAccepted},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sb, srv := start(t, sandbox.WithToken("spat_ok"))
			a := post(t, srv.URL+ingest, oneType, run("a", "p", "x"), tt.headers...)
			if a.status != tt.want {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tt.want)
			}
			if tt.want != http.StatusUnauthorized {
				return
			}
			var p problem
			if err := json.Unmarshal(a.body, &p); err != nil || p.Status != 401 || a.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("401 body %s (%v), want a problem+json with status 401", a.body, err)
			}
			if strings.Contains(string(a.body), "spat_ok") {
				t.Errorf("401 body %s shows the token", a.body)
			}
			if len(sb.Events()) != 0 {
				t.Errorf("events stored without auth")
			}
		})
	}
}

func TestTokenCheckedBeforeTheBody(t *testing.T) {
	_, srv := start(t, sandbox.WithToken("spat_ok"), sandbox.WithMaxBodyBytes(10))
	if a := post(t, srv.URL+ingest, "text/plain", "not even JSON, and long"); a.status != http.StatusUnauthorized {
		t.Errorf("status %d, want 401 before 413 or 400", a.status)
	}
}

func TestSetTokenAtRunTime(t *testing.T) {
	sb, srv := start(t, sandbox.WithToken("spat_old"))
	steps := []struct {
		name   string
		change func()
		send   string
		want   int
	}{
		{"the token works", func() {}, "spat_old", http.StatusAccepted},
		{"the token expired", func() { sb.SetToken("spat_new") }, "spat_old", http.StatusUnauthorized},
		{"the operator fixed it", func() {}, "spat_new", http.StatusAccepted},
		{"auth turned off", func() { sb.SetToken("") }, "", http.StatusAccepted},
	}
	for _, step := range steps {
		step.change()
		var headers []string
		if step.send != "" {
			headers = append(headers, "Authorization: Bearer "+step.send)
		}
		if a := post(t, srv.URL+ingest, oneType, run(step.name, "p", "x"), headers...); a.status != step.want {
			t.Errorf("%s: status %d %s, want %d", step.name, a.status, a.body, step.want)
		}
	}
	if got := sb.Usage().Events; got != 3 {
		t.Errorf("Usage().Events = %d, want the 3 accepted", got)
	}
}

func TestMaxBodyBytes(t *testing.T) {
	small := []any{run("a", "p", "x")}
	smallBody, _ := json.Marshal(small)
	limit := int64(len(smallBody))
	tests := map[string]struct {
		batch []any
		want  int
	}{
		"at the limit":   {small, http.StatusAccepted},
		"over the limit": {[]any{run("a", "p", "x"), run("b", "p", "x")}, http.StatusRequestEntityTooLarge},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			sb, srv := start(t, sandbox.WithMaxBodyBytes(limit))
			a := post(t, srv.URL+ingest, batchType, tt.batch)
			if a.status != tt.want {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tt.want)
			}
			if tt.want == http.StatusRequestEntityTooLarge && len(sb.Events()) != 0 {
				t.Errorf("events stored from a 413")
			}
		})
	}
}
