// Package mapping turns messages in a producer's own shape into the one
// CloudEvent a rule of BRIDGE_MAPPING makes of them: each attribute is a
// CEL expression (cel.dev/cel-go) over the message, compiled and
// type-checked once at start and evaluated under a cost limit. It owns the
// rules and their evaluation; it never touches NATS or HTTP, and what an
// event must be for Konnect stays the event package's: a mapped event is
// validated, fenced and delivered as any other.
package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"go.yaml.in/yaml/v3"

	"github.com/konnect-bridge/konnect-bridge/config"
)

// CostLimit is the CEL cost budget of one expression on one message: far
// above what a rule over a run record spends (tens to hundreds), low enough
// that no payload makes an expression spin or allocate without bound.
const CostLimit = 1_000_000

// interruptEvery is how many comprehension iterations run between checks
// of the evaluation's cost and context.
const interruptEvery = 100

// Mapping is a loaded BRIDGE_MAPPING: its rules, in order, compiled. It is
// safe for concurrent use.
type Mapping struct {
	file  string
	rules []rule
}

// rule is one compiled rule; index counts from 1, as the errors say.
type rule struct {
	index   int
	subject string
	when    cel.Program
	fields  [len(fieldNames)]cel.Program
}

// The fields of a rule that make the event, in the order they are
// evaluated; id and time may be absent (nil program).
const (
	fieldID = iota
	fieldType
	fieldSource
	fieldCustomer
	fieldTime
	fieldData
)

var fieldNames = [...]string{"id", "type", "source", "customer", "time", "data"}

// source is a rule as the file spells it.
type source struct {
	Subject  string `yaml:"subject"`
	When     string `yaml:"when"`
	ID       string `yaml:"id"`
	Type     string `yaml:"type"`
	Source   string `yaml:"source"`
	Customer string `yaml:"customer"`
	Time     string `yaml:"time"`
	Data     string `yaml:"data"`
}

func (s source) exprs() [len(fieldNames)]string {
	return [...]string{s.ID, s.Type, s.Source, s.Customer, s.Time, s.Data}
}

// Load reads and compiles the mapping file at path. An error names the
// file, the rule's index and subject, the field and CEL's message.
func Load(path string) (*Mapping, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("BRIDGE_MAPPING %q cannot be read: %v; point it at an existing file", path, errors.Unwrap(err))
	}
	return Parse(path, raw)
}

// Parse compiles a mapping file's contents; file names it in errors.
func Parse(file string, raw []byte) (*Mapping, error) {
	var doc struct {
		Mappings []source `yaml:"mappings"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			err = errors.New(strings.Join(te.Errors, "; "))
		}
		return nil, fmt.Errorf("mapping %s: %v; see docs/MAPPING.md for the format", file, err)
	}
	if len(doc.Mappings) == 0 {
		return nil, fmt.Errorf("mapping %s: no rules under \"mappings:\"; see docs/MAPPING.md for the format", file)
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", file, err)
	}
	m := &Mapping{file: file}
	for i, s := range doc.Mappings {
		r, err := compile(env, i+1, s)
		if err != nil {
			return nil, fmt.Errorf("mapping %s: rule %d (subject %q): %w", file, i+1, s.Subject, err)
		}
		m.rules = append(m.rules, r)
	}
	return m, nil
}

// Subjects are the subject filters of the mapping's rules, in order.
func (m *Mapping) Subjects() []string {
	out := make([]string, len(m.rules))
	for i, r := range m.rules {
		out[i] = r.subject
	}
	return out
}

// File is the path the mapping was loaded from.
func (m *Mapping) File() string { return m.file }

// newEnv declares the variables every expression sees.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("msg", cel.DynType),
		cel.Variable("subject", cel.StringType),
		cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("seq", cel.IntType),
		cel.Variable("stored", cel.TimestampType),
		ext.Strings(),
	)
}

// compile checks and compiles rule s.
func compile(env *cel.Env, index int, s source) (rule, error) {
	if err := config.CheckSubject(s.Subject, true); err != nil {
		return rule{}, fmt.Errorf("subject %w; give a NATS subject filter such as agent.runs.raw.>", err)
	}
	r := rule{index: index, subject: s.Subject}
	var err error
	if s.When != "" {
		if r.when, err = program(env, "when", s.When, cel.BoolType); err != nil {
			return rule{}, err
		}
	}
	want := [...]*cel.Type{cel.StringType, cel.StringType, cel.StringType, cel.StringType, nil, cel.MapType(cel.StringType, cel.DynType)}
	for f, expr := range s.exprs() {
		if expr == "" {
			if f == fieldID || f == fieldTime {
				continue
			}
			return rule{}, fmt.Errorf("%s: missing; give a CEL expression", fieldNames[f])
		}
		if r.fields[f], err = program(env, fieldNames[f], expr, want[f]); err != nil {
			return rule{}, err
		}
	}
	return r, nil
}

// program compiles one field's expression, checking that it yields want
// (nil: a string or a timestamp) or dyn, which is checked when evaluated.
func program(env *cel.Env, field, expr string, want *cel.Type) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		e := iss.Errors()[0]
		return nil, fmt.Errorf("%s: %s (column %d)", field, e.Message, e.Location.Column()+1)
	}
	out := ast.OutputType()
	ok := out.IsExactType(cel.DynType) || out.IsExactType(emptyMap) ||
		(want == nil && (out.IsExactType(cel.StringType) || out.IsExactType(cel.TimestampType))) ||
		(want != nil && want.IsAssignableType(out))
	if !ok {
		return nil, fmt.Errorf("%s: yields %s, not %s", field, out, expected(want))
	}
	prg, err := env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(interruptEvery), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", field, err)
	}
	if e := ast.NativeRep().Expr(); e.Kind() == celast.LiteralKind {
		return literal{prg, e.AsLiteral()}, nil
	}
	return prg, nil
}

// literal is the program of an expression that is a literal, such as
// 'agent_run', whose Eval gives its value with nothing to evaluate per
// message.
type literal struct {
	cel.Program
	v ref.Val
}

func (l literal) Eval(any) (ref.Val, *cel.EvalDetails, error) { return l.v, nil, nil }

// emptyMap is the type of {}, which is checked when evaluated too.
var emptyMap = cel.MapType(cel.DynType, cel.DynType)

func expected(want *cel.Type) string {
	if want == nil {
		return "a string or a timestamp"
	}
	return want.String()
}
