package billing

import (
	"errors"
	"fmt"
	"testing"
)

func TestResolve(t *testing.T) {
	data := []byte(`{"agent_name":"summarizer","usage":{"tokens":12,"by model":{"gpt":"3"}},"steps":[{"n":1}],"none":null}`)
	tests := map[string]struct {
		path  string
		want  string
		found bool
		bad   bool
	}{
		"member":             {path: "$.agent_name", want: "summarizer", found: true},
		"nested":             {path: "$.usage.tokens", want: "12", found: true},
		"quoted member":      {path: "$.usage['by model'].gpt", want: "3", found: true},
		"index":              {path: "$.steps[0].n", want: "1", found: true},
		"absent":             {path: "$.tokens"},
		"null":               {path: "$.none"},
		"index out of range": {path: "$.steps[3]"},
		"member of a string": {path: "$.agent_name.x"},
		"recursive descent":  {path: "$..tokens", bad: true},
		"wildcard":           {path: "$.steps[*].n", bad: true},
		"without the root":   {path: "tokens", bad: true},
		"unclosed bracket":   {path: "$.steps[0", bad: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			v, found, err := resolve(tt.path, data)
			if tt.bad != errors.Is(err, errPathSyntax) {
				t.Fatalf("resolve(%s) error %v, want unsupported: %v", tt.path, err, tt.bad)
			}
			if found != tt.found || (found && fmt.Sprint(v) != tt.want) {
				t.Errorf("resolve(%s) = %v, %v; want %s, %v", tt.path, v, found, tt.want, tt.found)
			}
		})
	}
}
