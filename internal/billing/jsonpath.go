package billing

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// errPathSyntax marks a JSONPath this package cannot evaluate; the check
// says so rather than reporting the path as unresolved.
var errPathSyntax = fmt.Errorf("unsupported JSONPath")

// resolve evaluates the JSONPath a meter uses ($.a.b, $['a'], $.a[0]) on an
// event's data and returns the value found. ok is false when the path does
// not resolve or resolves to null.
func resolve(path string, data json.RawMessage) (v any, ok bool, err error) {
	steps, err := parsePath(path)
	if err != nil {
		return nil, false, err
	}
	var cur any
	if len(data) == 0 || json.Unmarshal(data, &cur) != nil {
		return nil, false, nil
	}
	for _, s := range steps {
		switch node := cur.(type) {
		case map[string]any:
			cur, ok = node[s]
		case []any:
			i, err := strconv.Atoi(s)
			ok = err == nil && i >= 0 && i < len(node)
			if ok {
				cur = node[i]
			}
		default:
			ok = false
		}
		if !ok {
			return nil, false, nil
		}
	}
	return cur, cur != nil, nil
}

// parsePath splits a JSONPath of member names and indexes into its steps.
func parsePath(path string) ([]string, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(path), "$")
	if !ok {
		return nil, fmt.Errorf("%w %q: it must start with $", errPathSyntax, path)
	}
	var steps []string
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "."):
			name := rest[1:]
			end := strings.IndexAny(name, ".[")
			if end < 0 {
				end = len(name)
			}
			if end == 0 || strings.ContainsAny(name[:end], "*?@()") {
				return nil, fmt.Errorf("%w %q", errPathSyntax, path)
			}
			steps, rest = append(steps, name[:end]), name[end:]
		case strings.HasPrefix(rest, "["):
			end := strings.Index(rest, "]")
			if end < 0 {
				return nil, fmt.Errorf("%w %q", errPathSyntax, path)
			}
			inner := strings.TrimSpace(rest[1:end])
			if q := inner; len(q) >= 2 && (q[0] == '\'' || q[0] == '"') && q[len(q)-1] == q[0] {
				inner = q[1 : len(q)-1]
			} else if _, err := strconv.Atoi(inner); err != nil {
				return nil, fmt.Errorf("%w %q", errPathSyntax, path)
			}
			steps, rest = append(steps, inner), rest[end+1:]
		default:
			return nil, fmt.Errorf("%w %q", errPathSyntax, path)
		}
	}
	return steps, nil
}
