// Package policy compiles and evaluates response-policy conditions written
// in CEL (github.com/google/cel-go) over a declared view of an alert, and
// validates whole policies. It depends on the wire package and CEL only
// (no Fabric), so the gateway's CLI validates a policy file exactly as
// ProposePolicy will before submitting it.
//
// Guarantees: a condition compiles only if it parses, type-checks against
// [Vars] (unknown identifiers and fields are errors) and yields bool.
// Evaluation is deterministic — CEL has no clock, randomness or I/O here,
// and its map operations are order-independent — and bounded by
// [CostLimit], so no policy can stall endorsement.
package policy

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// CostLimit bounds one evaluation's CEL cost units; an evaluation that
// exceeds it fails (and the policy does not match that alert).
const CostLimit = 100_000

// Vars is the alert as a condition sees it, under the variable `alert`:
//
//	alert.id, alert.msp, alert.gateway, alert.eventHash, alert.batchId  string
//	alert.severity string ("info" … "critical"), alert.severityLevel int (0 … 4)
//	alert.score double, alert.category string (MITRE ATT&CK id where known)
//	alert.asset, alert.principal string (possibly pseudonymised)
//	alert.model.name, alert.model.version, alert.model.sha256 string
//	alert.fields map(string, string)
//
// e.g. `alert.severityLevel >= 3 && alert.category.startsWith("T1110")`.
type Vars struct {
	ID            string            `cel:"id"`
	MSP           string            `cel:"msp"`
	Gateway       string            `cel:"gateway"`
	EventHash     string            `cel:"eventHash"`
	BatchID       string            `cel:"batchId"`
	Severity      string            `cel:"severity"`
	SeverityLevel int64             `cel:"severityLevel"`
	Score         float64           `cel:"score"`
	Category      string            `cel:"category"`
	Asset         string            `cel:"asset"`
	Principal     string            `cel:"principal"`
	Model         ModelVars         `cel:"model"`
	Fields        map[string]string `cel:"fields"`
}

// ModelVars is the detector model as a condition sees it.
type ModelVars struct {
	Name    string `cel:"name"`
	Version string `cel:"version"`
	SHA256  string `cel:"sha256"`
}

// VarsOf returns the condition view of an alert. Fields is shared, not
// copied: evaluation never writes to it.
func VarsOf(a *wire.Alert) Vars {
	level, _ := wire.SeverityLevel(a.Severity)
	fields := a.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	return Vars{
		ID: a.ID, MSP: a.MSP, Gateway: a.GatewayID, EventHash: a.EventHash, BatchID: a.BatchID,
		Severity: a.Severity, SeverityLevel: level, Score: a.Score, Category: a.Category,
		Asset: a.Asset, Principal: a.Principal,
		Model:  ModelVars{Name: a.Detector.ID, Version: a.Detector.Version, SHA256: a.Detector.SHA256},
		Fields: fields,
	}
}

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

// environment builds the one CEL environment: the standard library plus
// the string extensions, and the variable alert of type policy.Vars.
func environment() (*cel.Env, error) {
	envOnce.Do(func() {
		env, envErr = cel.NewEnv(
			ext.NativeTypes(reflect.TypeOf(Vars{}), ext.ParseStructTags(true)),
			ext.Strings(),
			cel.Variable("alert", cel.ObjectType("policy.Vars")),
		)
	})
	return env, envErr
}

// Condition is a compiled condition, safe for concurrent use.
type Condition struct {
	source string
	prg    cel.Program
}

// Source returns the condition's text.
func (c *Condition) Source() string { return c.source }

// Compile parses and type-checks a condition and plans its program. Errors
// are *wire.ValidationError on field "condition" carrying CEL's message
// (with line and column), or a plain error if the environment itself
// could not be built.
func Compile(source string) (*Condition, error) {
	e, err := environment()
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	ast, iss := e.Compile(source)
	if iss.Err() != nil {
		return nil, &wire.ValidationError{Field: "condition", Reason: iss.Err().Error()}
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, &wire.ValidationError{Field: "condition", Reason: fmt.Sprintf("must evaluate to bool, not %s", ast.OutputType())}
	}
	prg, err := e.Program(ast, cel.CostLimit(CostLimit))
	if err != nil {
		return nil, &wire.ValidationError{Field: "condition", Reason: err.Error()}
	}
	return &Condition{source: source, prg: prg}, nil
}

// ErrNotBool is returned when a condition evaluates to something other
// than a bool (which type-checking should already prevent).
var ErrNotBool = errors.New("condition did not evaluate to bool")

// Input is an alert's condition view bound for evaluation. Build it once
// per alert and match every condition against it: binding the variable
// (a map and CEL's activation) was about a seventh of each evaluation's
// cost, paid again for each policy. It is read-only, so sharing it
// between conditions cannot change a result.
type Input struct {
	act cel.Activation
	err error
}

// NewInput binds v for evaluation.
func NewInput(v *Vars) Input {
	act, err := cel.NewActivation(map[string]any{"alert": v})
	return Input{act: act, err: err}
}

// Match evaluates the condition on an alert. An error (missing map key,
// cost limit, division by zero …) means "no match"; callers record it.
func (c *Condition) Match(v *Vars) (bool, error) { return c.MatchInput(NewInput(v)) }

// MatchInput is [Condition.Match] on an alert already bound by NewInput.
func (c *Condition) MatchInput(in Input) (bool, error) {
	if in.err != nil {
		return false, in.err
	}
	out, _, err := c.prg.Eval(in.act)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, ErrNotBool
	}
	return b, nil
}

// cache holds compiled conditions by source text. A compiled program is a
// pure function of its source, so reusing it across transactions cannot
// change any result; it only saves compiling each active policy in every
// RaiseAlerts transaction. The cache is cleared when it grows past
// cacheMax entries, so memory stays bounded.
var (
	cacheMu  sync.Mutex
	cache    = map[string]*Condition{}
	cacheMax = 1024
)

// CompileCached is [Compile] with a process-wide cache keyed by source.
func CompileCached(source string) (*Condition, error) {
	cacheMu.Lock()
	c, ok := cache[source]
	cacheMu.Unlock()
	if ok {
		return c, nil
	}
	c, err := Compile(source)
	if err != nil {
		return nil, err
	}
	cacheMu.Lock()
	if len(cache) >= cacheMax {
		cache = map[string]*Condition{}
	}
	cache[source] = c
	cacheMu.Unlock()
	return c, nil
}

// Validate checks a proposed policy completely, as far as it can without
// the ledger: wire.Policy.Validate (actions, parameters, templates, limit)
// and that the condition compiles to bool. Errors are *wire.ValidationError.
func Validate(p *wire.Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	_, err := Compile(p.Condition)
	return err
}
