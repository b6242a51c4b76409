package deploy_test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// secretEnv matches environment variable names whose values are secrets.
var secretEnv = regexp.MustCompile(`TOKEN|PASSWORD|SECRET|CREDS|NKEY`)

// fromEnvironment matches a value taken from the caller's environment, with
// at most an empty default: ${KONNECT_TOKEN} or ${KONNECT_TOKEN:-}.
var fromEnvironment = regexp.MustCompile(`^\$\{[A-Z_][A-Z0-9_]*(:?-)?\}$`)

func TestComposeHasNoSecrets(t *testing.T) {
	raw, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	checkNoSecretLiterals(t, composeFile, raw)

	var file struct {
		Services map[string]struct {
			Environment yaml.Node `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	for name, svc := range file.Services {
		for key, value := range environment(t, svc.Environment) {
			if secretEnv.MatchString(key) && value != nil && !fromEnvironment.MatchString(*value) {
				t.Errorf("service %s: %s is written in the file (%s); take it from the environment: ${%s:-}", name, key, display(key, value), key)
			}
		}
	}
}

// environment reads a service's environment as written, map or list form,
// before interpolation. A nil value means "passed through".
func environment(t *testing.T, n yaml.Node) map[string]*string {
	t.Helper()
	out := map[string]*string{}
	switch n.Kind {
	case 0:
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Tag == "!!null" {
				out[k.Value] = nil
			} else {
				out[k.Value] = ptr(v.Value)
			}
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if k, v, ok := strings.Cut(item.Value, "="); ok {
				out[k] = ptr(v)
			} else {
				out[k] = nil
			}
		}
	default:
		t.Fatalf("line %d: environment is neither a map nor a list", n.Line)
	}
	return out
}

// secretLiterals match credentials written out: Konnect tokens, NATS nkey
// seeds, private keys, bearer headers and passwords inside URLs.
var secretLiterals = map[string]*regexp.Regexp{
	"Konnect token":   regexp.MustCompile(`\b[ks]pat_[A-Za-z0-9]{8,}`),
	"nkey seed":       regexp.MustCompile(`\bS[UAONC][A-Z2-7]{50,}`),
	"private key":     regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
	"bearer token":    regexp.MustCompile(`(?i)bearer\s+[A-Za-z0-9._~+/-]{8,}`),
	"URL credentials": regexp.MustCompile(`[a-z]+://[^/\s:@]+:[^/\s@]+@`),
}

func checkNoSecretLiterals(t *testing.T, path string, content []byte) {
	t.Helper()
	for what, re := range secretLiterals {
		if loc := re.Find(content); loc != nil {
			t.Errorf("%s holds what looks like a %s: %.8q…", path, what, loc)
		}
	}
}

// display shows an environment value in a test message: secrets by length
// only, so a real token pasted into the file does not end up in CI logs.
func display(key string, v *string) string {
	switch {
	case v == nil:
		return "<unset>"
	case secretEnv.MatchString(key) && *v != "":
		return fmt.Sprintf("<%d characters>", len(*v))
	}
	return strconv.Quote(*v)
}
