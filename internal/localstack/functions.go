package localstack

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// template.yaml is the one list of functions: the build targets
// (infra/sam.mk), the runtime-emulator tests, the cold-start figures and the
// local stack take every function, its directory, limits, environment and
// events from Functions.
//
// A function's code is the package functions/<dir>, where <dir> is its
// logical id without the "Function" suffix, lower-cased
// (ExportWorkerFunction: functions/exportworker); its sample events are
// events/<dir>-*.json. infra/sam.mk's build-%Function rule applies the same
// rule, and TestFunctions checks every function of the template follows it.

// FunctionSuffix ends every function's logical id.
const FunctionSuffix = "Function"

// Function is one AWS::Serverless::Function of template.yaml, with the
// template's Globals applied.
type Function struct {
	LogicalID     string
	Dir           string // its package under functions/, and its events' prefix
	Timeout       int    // seconds
	Memory        int    // MB
	Architectures []string
	Env           []EnvVar   // sorted by name, Globals' included
	Routes        []Route    // its HttpApi events
	Schedules     []Schedule // its ScheduleV2 events
	// Async is how Lambda retries an asynchronous invocation of the
	// function that failed (as EventBridge Scheduler invokes it): its
	// EventInvokeConfig, Lambda's defaults where the template says
	// nothing.
	Async AsyncRetry
}

// AsyncRetry is a function's EventInvokeConfig: how many times Lambda
// retries a failed asynchronous invocation, and how old an event may get
// before it is given up; then the event goes to the OnFailure destination.
type AsyncRetry struct {
	MaxRetries int
	MaxAgeSec  int
}

// Lambda's own retry of an asynchronous invocation when the function says
// nothing: two retries, events kept six hours.
const (
	DefaultAsyncRetries   = 2
	DefaultAsyncMaxAgeSec = 6 * 60 * 60
)

// EnvVar is one environment variable a function's template gives it.
type EnvVar struct {
	Name  string
	Value Value
}

// Value is a literal, or a reference: !Ref Ref (Attr "") or !GetAtt
// Ref.Attr. A !Sub that builds the ARN of a resource of the template from
// its fixed name (a FunctionName or RoleName) reads as !GetAtt <it>.Arn.
type Value struct {
	Literal string
	Ref     string
	Attr    string
}

func (v Value) String() string {
	switch {
	case v.Ref == "":
		return strconv.Quote(v.Literal)
	case v.Attr == "":
		return "!Ref " + v.Ref
	default:
		return "!GetAtt " + v.Ref + "." + v.Attr
	}
}

// Route is one HttpApi event.
type Route struct {
	Method string // upper case
	Path   string
}

// Schedule is one ScheduleV2 event: the function is its target.
type Schedule struct {
	Event      string // the event's key
	Expression string
	Input      string
}

// rawValue keeps a template value's YAML node, tag included.
type rawValue struct{ node yaml.Node }

func (r *rawValue) UnmarshalYAML(n *yaml.Node) error { r.node = *n; return nil }

type rawFunctionProps struct {
	CodeUri       string   `yaml:"CodeUri"`
	FunctionName  rawValue `yaml:"FunctionName"`
	RoleName      rawValue `yaml:"RoleName"`
	Timeout       int      `yaml:"Timeout"`
	MemorySize    int      `yaml:"MemorySize"`
	Architectures []string `yaml:"Architectures"`
	Environment   struct {
		Variables map[string]rawValue `yaml:"Variables"`
	} `yaml:"Environment"`
	EventInvokeConfig struct {
		MaximumRetryAttempts     *int `yaml:"MaximumRetryAttempts"`
		MaximumEventAgeInSeconds *int `yaml:"MaximumEventAgeInSeconds"`
	} `yaml:"EventInvokeConfig"`
	Events map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			Method             string `yaml:"Method"`
			Path               string `yaml:"Path"`
			ScheduleExpression string `yaml:"ScheduleExpression"`
			Input              string `yaml:"Input"`
		} `yaml:"Properties"`
	} `yaml:"Events"`
}

type rawTemplate struct {
	Parameters map[string]struct {
		Default rawValue `yaml:"Default"`
	} `yaml:"Parameters"`
	Globals struct {
		Function rawFunctionProps `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]struct {
		Type     string `yaml:"Type"`
		Metadata struct {
			BuildMethod string `yaml:"BuildMethod"`
		} `yaml:"Metadata"`
		Properties rawFunctionProps `yaml:"Properties"`
	} `yaml:"Resources"`
}

// Functions reads the functions of template.yaml (see TemplatePath),
// sorted by logical id.
func Functions() ([]Function, error) {
	path, err := TemplatePath()
	if err != nil {
		return nil, err
	}
	return ReadFunctions(path)
}

// ReadFunctions reads the functions of the template at path.
func ReadFunctions(path string) ([]Function, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseFunctions(b)
}

// ParameterDefault is a template parameter's Default ("" if none).
func ParameterDefault(name string) (string, error) {
	path, err := TemplatePath()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var t rawTemplate
	if err := yaml.Unmarshal(b, &t); err != nil {
		return "", fmt.Errorf("parse template.yaml: %w", err)
	}
	p, ok := t.Parameters[name]
	if !ok {
		return "", fmt.Errorf("template.yaml: no parameter %s", name)
	}
	return p.Default.node.Value, nil
}

func parseFunctions(b []byte) ([]Function, error) {
	var t rawTemplate
	if err := yaml.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse template.yaml: %w", err)
	}
	// The fixed names of the template's resources, for !Sub ARNs.
	named := map[string]string{}
	for id, r := range t.Resources {
		for _, n := range []rawValue{r.Properties.FunctionName, r.Properties.RoleName} {
			if n.node.Tag == "!Sub" {
				named[n.node.Value] = id
			}
		}
	}
	value := func(fn, name string, r rawValue) (Value, error) {
		n := r.node
		switch n.Tag {
		case "!Ref":
			return Value{Ref: n.Value}, nil
		case "!GetAtt":
			ref, attr, ok := strings.Cut(n.Value, ".")
			if !ok {
				return Value{}, fmt.Errorf("template.yaml: %s: %s: !GetAtt %s has no attribute", fn, name, n.Value)
			}
			return Value{Ref: ref, Attr: attr}, nil
		case "!Sub":
			for fixed, id := range named {
				if strings.HasSuffix(n.Value, ":function:"+fixed) || strings.HasSuffix(n.Value, ":role/"+fixed) {
					return Value{Ref: id, Attr: "Arn"}, nil
				}
			}
			return Value{}, fmt.Errorf("template.yaml: %s: %s: !Sub %s names no resource of the template", fn, name, n.Value)
		case "!!str", "!!int", "!!bool", "!!float":
			return Value{Literal: n.Value}, nil
		}
		return Value{}, fmt.Errorf("template.yaml: %s: %s: unsupported value (tag %s)", fn, name, n.Tag)
	}
	g := t.Globals.Function
	var out []Function
	for id, r := range t.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		p := r.Properties
		if p.CodeUri != "." || r.Metadata.BuildMethod != "makefile" {
			return nil, fmt.Errorf("template.yaml: function %s: got CodeUri %q, BuildMethod %q; want \".\" and makefile (sam build runs infra/sam.mk's build-%%Function)", id, p.CodeUri, r.Metadata.BuildMethod)
		}
		if !strings.HasSuffix(id, FunctionSuffix) || id == FunctionSuffix {
			return nil, fmt.Errorf("template.yaml: function %s: its logical id must end in %q (infra/sam.mk builds build-%%Function)", id, FunctionSuffix)
		}
		f := Function{
			LogicalID:     id,
			Dir:           strings.ToLower(strings.TrimSuffix(id, FunctionSuffix)),
			Timeout:       cmp(p.Timeout, g.Timeout),
			Memory:        cmp(p.MemorySize, g.MemorySize),
			Architectures: p.Architectures,
		}
		if f.Architectures == nil {
			f.Architectures = g.Architectures
		}
		f.Async = AsyncRetry{
			MaxRetries: first(p.EventInvokeConfig.MaximumRetryAttempts, g.EventInvokeConfig.MaximumRetryAttempts, DefaultAsyncRetries),
			MaxAgeSec:  first(p.EventInvokeConfig.MaximumEventAgeInSeconds, g.EventInvokeConfig.MaximumEventAgeInSeconds, DefaultAsyncMaxAgeSec),
		}
		if f.Timeout == 0 || f.Memory == 0 || len(f.Architectures) == 0 {
			return nil, fmt.Errorf("template.yaml: function %s: no Timeout, MemorySize or Architectures (its own or Globals')", id)
		}
		vars := map[string]rawValue{}
		for k, v := range g.Environment.Variables {
			vars[k] = v
		}
		for k, v := range p.Environment.Variables {
			vars[k] = v
		}
		for k, raw := range vars {
			v, err := value(id, k, raw)
			if err != nil {
				return nil, err
			}
			f.Env = append(f.Env, EnvVar{Name: k, Value: v})
		}
		slices.SortFunc(f.Env, func(a, b EnvVar) int { return strings.Compare(a.Name, b.Name) })
		for name, ev := range p.Events {
			switch ev.Type {
			case "HttpApi":
				if ev.Properties.Method == "" || ev.Properties.Path == "" {
					return nil, fmt.Errorf("template.yaml: %s event %s has no Method or Path", id, name)
				}
				f.Routes = append(f.Routes, Route{Method: strings.ToUpper(ev.Properties.Method), Path: ev.Properties.Path})
			case "ScheduleV2":
				f.Schedules = append(f.Schedules, Schedule{Event: name, Expression: ev.Properties.ScheduleExpression, Input: ev.Properties.Input})
			default:
				return nil, fmt.Errorf("template.yaml: %s event %s: type %s is not read here", id, name, ev.Type)
			}
		}
		slices.SortFunc(f.Routes, func(a, b Route) int { return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method) })
		slices.SortFunc(f.Schedules, func(a, b Schedule) int { return strings.Compare(a.Event, b.Event) })
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("template.yaml: no AWS::Serverless::Function")
	}
	slices.SortFunc(out, func(a, b Function) int { return strings.Compare(a.LogicalID, b.LogicalID) })
	return out, nil
}

// first is own, or global, when set; else def.
func first(own, global *int, def int) int {
	switch {
	case own != nil:
		return *own
	case global != nil:
		return *global
	}
	return def
}

func cmp(own, global int) int {
	if own != 0 {
		return own
	}
	return global
}

// Resources are the local names a function's environment resolves to.
type Resources struct {
	Table, DocumentsBucket, ExportsBucket, ScheduleGroup, Sender string
	SchedulerRole, DeadLetterARN                                 string
	// EvidenceBucket is the evidence ledger's bucket, CertificateKey the
	// id of the key that signs its certificates.
	EvidenceBucket, CertificateKey string
	// FunctionARN is the ARN of the local copy of a function, by logical id.
	FunctionARN func(logical string) (string, error)
	// Params are template parameters' values; a parameter not here takes
	// its Default.
	Params map[string]string
}

// Resolve gives a value its local meaning. A reference it does not know is
// an error, so that a new one in the template is noticed here.
func (r Resources) Resolve(v Value) (string, error) {
	if v.Ref == "" {
		return v.Literal, nil
	}
	var s string
	switch v.String() {
	case "!Ref Table":
		s = r.Table
	case "!Ref DocumentsBucket":
		s = r.DocumentsBucket
	case "!Ref ExportsBucket":
		s = r.ExportsBucket
	case "!Ref EvidenceBucket":
		s = r.EvidenceBucket
	case "!Ref CertificateSigningKey":
		// A key's Ref is its id.
		s = r.CertificateKey
	case "!Ref ScheduleGroup":
		s = r.ScheduleGroup
	case "!Ref SenderEmail":
		s = r.Sender
	case "!GetAtt PurgeSchedulerRole.Arn", "!GetAtt ExportSchedulerRole.Arn":
		// The local stack has one role for every schedule.
		s = r.SchedulerRole
	case "!GetAtt ScheduleDeadLetterQueue.Arn":
		s = r.DeadLetterARN
	case "!Ref AWS::StackName":
		s = StackName
	default:
		switch {
		case v.Attr == "Arn" && strings.HasSuffix(v.Ref, FunctionSuffix) && r.FunctionARN != nil:
			return r.FunctionARN(v.Ref)
		case v.Attr == "":
			if p, ok := r.Params[v.Ref]; ok {
				return p, nil
			}
			if d, err := ParameterDefault(v.Ref); err == nil && d != "" {
				return d, nil
			}
		}
		return "", fmt.Errorf("template.yaml: %s has no local value", v)
	}
	if s == "" {
		return "", fmt.Errorf("template.yaml: %s: its local value is not set", v)
	}
	return s, nil
}

// Environ is f's template environment with local values, as NAME=value.
func (f Function) Environ(r Resources) ([]string, error) {
	out := make([]string, 0, len(f.Env))
	for _, e := range f.Env {
		s, err := r.Resolve(e.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", f.LogicalID, e.Name, err)
		}
		out = append(out, e.Name+"="+s)
	}
	return out, nil
}

// Resources are st's names, with functions named by functionName.
func (st *Stack) Resources(functionName func(logical string) string, params map[string]string) Resources {
	return Resources{
		Table: st.Table, DocumentsBucket: st.Bucket, ExportsBucket: st.ExportsBucket, ScheduleGroup: st.ScheduleGroup,
		Sender: st.Sender, SchedulerRole: st.SchedulerRole, DeadLetterARN: st.DeadLetterARN,
		EvidenceBucket: st.EvidenceBucket, CertificateKey: st.CertificateKey,
		FunctionARN: func(logical string) (string, error) { return FunctionARN(functionName(logical)), nil },
		Params:      params,
	}
}

// FunctionDir is the directory of f's package, from the repository root.
func (f Function) FunctionDir() string { return filepath.Join("functions", f.Dir) }
