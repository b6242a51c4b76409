package deploy_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

const dockerfile = "../Dockerfile"

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is a FROM and the instructions up to the next FROM.
type stage struct {
	base, name string
	body       []instruction
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// index is the position of the first instruction cmd whose arguments
// contain substr, or -1.
func (s stage) index(cmd, substr string) int {
	return slices.IndexFunc(s.body, func(in instruction) bool {
		return in.cmd == cmd && strings.Contains(in.args, substr)
	})
}

// parseStages reads the Dockerfile well enough for these checks: comments
// dropped, `\` continuations joined, instructions grouped by stage.
func parseStages(t *testing.T, content string) []stage {
	t.Helper()
	var stages []stage
	var pending string
	start := 0
	for i, line := range strings.Split(content, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && pending == "") {
			continue
		}
		if pending == "" {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			pending += cont + " "
			continue
		}
		cmd, args, _ := strings.Cut(pending+trimmed, " ")
		pending = ""
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			if len(f) == 0 {
				t.Fatalf("%s:%d: FROM without an image", dockerfile, in.line)
			}
			s := stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s:%d: %s before the first FROM", dockerfile, in.line, in.cmd)
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	return stages
}

// execForm decodes the JSON array after an instruction's options and an
// optional leading word (CMD in HEALTHCHECK CMD [...]).
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var argv []string
	i := strings.Index(in.args, "[")
	if i < 0 {
		t.Fatalf("%s:%d: %s %s is not in exec form", dockerfile, in.line, in.cmd, in.args)
	}
	if err := json.Unmarshal([]byte(in.args[i:]), &argv); err != nil {
		t.Fatalf("%s:%d: %s is not in exec form: %v", dockerfile, in.line, in.cmd, err)
	}
	return argv
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	checkNoSecretLiterals(t, dockerfile, raw)
	stages := parseStages(t, string(raw))
	if len(stages) < 2 {
		t.Fatalf("%d stage(s), want a build stage and a final stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	t.Run("build stage", func(t *testing.T) {
		if !strings.HasPrefix(build.base, "golang:1.26") || build.name == "" {
			t.Errorf("build stage FROM %s AS %q, want golang:1.26 with a name", build.base, build.name)
		}
		download, source := build.index("RUN", "go mod download"), build.index("COPY", ". .")
		if download < 0 || source < 0 || download > source || build.index("COPY", "go.mod") > download {
			t.Errorf("want COPY go.mod go.sum, RUN go mod download, then COPY . . so the module layer is cached")
		}
		i := build.index("RUN", "go build")
		if i < 0 {
			t.Fatal("no RUN go build")
		}
		run := build.body[i].args
		sets := func(env string) bool {
			return strings.Contains(run, env) ||
				slices.ContainsFunc(build.all("ENV"), func(in instruction) bool { return strings.Contains(in.args, env) })
		}
		if !sets("CGO_ENABLED=0") {
			t.Errorf("go build runs with cgo: the binary would need libc, which distroless/static lacks")
		}
		if !sets("GOWORK=off") {
			t.Errorf("go build runs in workspace mode: go.work names ./deploy, which the build context leaves out; set GOWORK=off")
		}
		for _, want := range []string{"-trimpath", "./cmd/bridge", "-o /out/bridge"} {
			if !strings.Contains(run, want) {
				t.Errorf("RUN %s: missing %q", run, want)
			}
		}
		// Without .git in the context, the build arguments stamp what
		// `bridge version` shows.
		for arg, v := range map[string]string{"VERSION": "version", "REVISION": "revision", "BUILD_TIME": "buildTime", "MODIFIED": "modified"} {
			if build.index("ARG", arg) < 0 || !strings.Contains(run, "-X github.com/konnect-bridge/konnect-bridge/internal/metrics."+v+"=${"+arg+"}") {
				t.Errorf("the build does not stamp metrics.%s from ARG %s", v, arg)
			}
		}
	})

	t.Run("final stage", func(t *testing.T) {
		if !strings.Contains(final.base, "distroless") {
			t.Errorf("final stage FROM %s, want a distroless image", final.base)
		}
		user := ""
		if strings.HasSuffix(final.base, ":nonroot") {
			user = "nonroot"
		}
		if users := final.all("USER"); len(users) > 0 {
			user = users[len(users)-1].args
		}
		if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
			t.Errorf("final stage runs as %q, want a non-root user", user)
		}
		if final.index("COPY", "--from="+build.name) < 0 {
			t.Errorf("final stage copies nothing from stage %q", build.name)
		}
		if final.index("ENV", "BRIDGE_HTTP_ADDR=0.0.0.0:8080") < 0 {
			t.Errorf("final stage does not set BRIDGE_HTTP_ADDR=0.0.0.0:8080: the admin server would listen on the container's loopback only")
		}
		if final.index("EXPOSE", "8080") < 0 {
			t.Errorf("final stage does not EXPOSE 8080")
		}
		hcs := final.all("HEALTHCHECK")
		if len(hcs) != 1 || !slices.Equal(execForm(t, hcs[0]), []string{"/bridge", "health"}) {
			t.Errorf("want HEALTHCHECK CMD [\"/bridge\", \"health\"]: there is no shell or curl in the image")
		}
		eps := final.all("ENTRYPOINT")
		if len(eps) != 1 || !slices.Equal(execForm(t, eps[0]), []string{"/bridge"}) {
			t.Errorf("want ENTRYPOINT [\"/bridge\"]")
		}
	})
}

func TestDockerignoreKeepsSecretsOut(t *testing.T) {
	raw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for _, want := range []string{".env", ".git"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not exclude %s from the build context", want)
		}
	}
}
