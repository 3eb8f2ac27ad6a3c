package localstack

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	path, err := TemplatePath()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(path)
}

func functionsOf(t *testing.T) []Function {
	t.Helper()
	fns, err := Functions()
	if err != nil {
		t.Fatalf("Functions: got error %v, want nil", err)
	}
	return fns
}

// TestFunctions: the reader applies Globals, reads the environment's
// references (the purge function's !Sub ARN of itself included), the
// events, and finds each function's package by the template's rule.
func TestFunctions(t *testing.T) {
	fns := functionsOf(t)
	root := repoRoot(t)
	byID := map[string]Function{}
	for _, f := range fns {
		byID[f.LogicalID] = f
		if _, err := os.Stat(filepath.Join(root, f.FunctionDir(), "main.go")); err != nil {
			t.Errorf("%s: got no %s/main.go (%v), want its package there", f.LogicalID, f.FunctionDir(), err)
		}
	}
	s := byID["SettingsFunction"]
	if s.Timeout != 10 || s.Memory != 256 || !slices.Equal(s.Architectures, []string{"arm64"}) {
		t.Errorf("SettingsFunction: got %ds %dMB %v, want Globals' 10s 256MB [arm64]", s.Timeout, s.Memory, s.Architectures)
	}
	if len(s.Env) != 1 || s.Env[0] != (EnvVar{"TABLE_NAME", Value{Ref: "Table"}}) {
		t.Errorf("SettingsFunction env: got %v, want Globals' TABLE_NAME=!Ref Table", s.Env)
	}
	want := []Route{{"GET", "/v1/settings/right-to-be-forgotten"}, {"PUT", "/v1/settings/right-to-be-forgotten"}}
	if !slices.Equal(s.Routes, want) {
		t.Errorf("SettingsFunction routes: got %v, want %v", s.Routes, want)
	}
	p := byID["PurgeFunction"]
	if p.Timeout != 900 || p.Memory != 512 || p.Dir != "purge" {
		t.Errorf("PurgeFunction: got %ds %dMB dir %q, want 900s 512MB purge", p.Timeout, p.Memory, p.Dir)
	}
	env := map[string]Value{}
	for _, e := range p.Env {
		env[e.Name] = e.Value
	}
	if got := env["PURGE_FUNCTION_ARN"]; got != (Value{Ref: "PurgeFunction", Attr: "Arn"}) {
		t.Errorf("PurgeFunction PURGE_FUNCTION_ARN: got %v, want !GetAtt PurgeFunction.Arn", got)
	}
	if got := env["SCHEDULER_ROLE_ARN"]; got != (Value{Ref: "PurgeSchedulerRole", Attr: "Arn"}) {
		t.Errorf("PurgeFunction SCHEDULER_ROLE_ARN: got %v, want !GetAtt PurgeSchedulerRole.Arn", got)
	}
	if len(p.Schedules) != 1 || p.Schedules[0].Input != `{"sweep":true}` || p.Schedules[0].Expression != "rate(1 hour)" {
		t.Errorf("PurgeFunction schedules: got %+v, want the hourly sweep", p.Schedules)
	}
	if d := byID["ExportWorkerFunction"].Dir; d != "exportworker" {
		t.Errorf("ExportWorkerFunction dir: got %q, want exportworker", d)
	}
	// EventInvokeConfig: the template's retries, Lambda's defaults for
	// what it leaves out.
	for id, want := range map[string]AsyncRetry{
		"PurgeFunction":        {MaxRetries: 2, MaxAgeSec: DefaultAsyncMaxAgeSec},
		"ExportWorkerFunction": {MaxRetries: 2, MaxAgeSec: DefaultAsyncMaxAgeSec},
		"SettingsFunction":     {MaxRetries: DefaultAsyncRetries, MaxAgeSec: DefaultAsyncMaxAgeSec},
	} {
		if got := byID[id].Async; got != want {
			t.Errorf("%s: got async retry %+v, want %+v", id, got, want)
		}
	}
	const tmpl = `
Globals:
  Function:
    Timeout: 10
    MemorySize: 128
    Architectures: [arm64]
    EventInvokeConfig:
      MaximumEventAgeInSeconds: 120
Resources:
  NoRetryFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      CodeUri: .
      EventInvokeConfig:
        MaximumRetryAttempts: 0
`
	parsed, err := parseFunctions([]byte(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	if got := parsed[0].Async; got != (AsyncRetry{MaxRetries: 0, MaxAgeSec: 120}) {
		t.Errorf("NoRetryFunction: got async retry %+v, want no retry and Globals' 120 s", got)
	}
}

// TestFunctions_Dirs: every package under functions/ is a function of the
// template, so one cannot be left out of it.
func TestFunctions_Dirs(t *testing.T) {
	var want []string
	for _, f := range functionsOf(t) {
		want = append(want, f.Dir)
	}
	entries, err := os.ReadDir(filepath.Join(repoRoot(t), "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.IsDir() {
			got = append(got, e.Name())
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("functions/: got %v, want template.yaml's %v", got, want)
	}
}

// TestFunctions_BuildTarget: the target `sam build` runs for each function
// (make build-<LogicalId>) builds the function's package.
func TestFunctions_BuildTarget(t *testing.T) {
	root := repoRoot(t)
	for _, f := range functionsOf(t) {
		cmd := exec.Command("make", "-C", root, "--no-print-directory", "-n", "build-"+f.LogicalID, "ARTIFACTS_DIR=/nonexistent")
		cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MAKELEVEL=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("make -n build-%s: %v\n%s", f.LogicalID, err, out)
			continue
		}
		if !strings.Contains(string(out), " ./functions/"+f.Dir+"\n") {
			t.Errorf("make -n build-%s: got %s, want a build of ./functions/%s", f.LogicalID, out, f.Dir)
		}
	}
}

// defaulted are variables a function reads with a default and the
// template does not set: tuning knobs and the local emulators' switch.
var defaulted = map[string]bool{
	"S3_USE_PATH_STYLE":    true,
	"EXPORT_PART_SIZE_MIB": true,
	"PURGE_CONCURRENCY":    true,
}

// envReads are the variables a function's package reads through
// internal/config's Env getters, by getter: a call v.Getter("NAME") on a
// variable declared as config.Env.
func envReads(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	reads := map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		envVars := map[string]bool{}
		ast.Inspect(file, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				if sel, ok := vs.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Env" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "config" {
						for _, name := range vs.Names {
							envVars[name.Name] = true
						}
					}
				}
			}
			return true
		})
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			recv, ok := sel.X.(*ast.Ident)
			if !ok || !envVars[recv.Name] {
				return true
			}
			switch sel.Sel.Name {
			case "String", "Optional", "Int", "Bool":
			default:
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: %s.%s reads a name that is not a constant string", fset.Position(call.Pos()), recv.Name, sel.Sel.Name)
				return true
			}
			name, _ := strconv.Unquote(lit.Value)
			reads[name] = sel.Sel.Name
			return true
		})
	}
	return reads
}

// TestFunctions_Env: the template sets for each function exactly the
// variables its package reads; a variable it reads without a default
// (String) is set, and one it reads with a default is either set or a
// known knob (defaulted).
func TestFunctions_Env(t *testing.T) {
	root := repoRoot(t)
	for _, f := range functionsOf(t) {
		t.Run(f.LogicalID, func(t *testing.T) {
			reads := envReads(t, filepath.Join(root, f.FunctionDir()))
			if len(reads) == 0 {
				t.Fatalf("%s: got no config.Env read, want its configuration read through internal/config", f.FunctionDir())
			}
			set := map[string]bool{}
			for _, e := range f.Env {
				set[e.Name] = true
				if _, ok := reads[e.Name]; !ok {
					t.Errorf("%s: set by template.yaml, never read by %s", e.Name, f.FunctionDir())
				}
			}
			for name, getter := range reads {
				switch {
				case set[name]:
				case getter == "String":
					t.Errorf("%s: read by %s (required), not set by template.yaml", name, f.FunctionDir())
				case !defaulted[name]:
					t.Errorf("%s: read by %s with a default, neither set by template.yaml nor a known knob", name, f.FunctionDir())
				}
			}
		})
	}
}

// TestFunctions_EnvResolves: every reference of a function's environment
// has a local value, a function's ARN only for a function of the template,
// and the purge function and the deletion request name the same purge.
func TestFunctions_EnvResolves(t *testing.T) {
	fns := functionsOf(t)
	ids := map[string]bool{}
	for _, f := range fns {
		ids[f.LogicalID] = true
	}
	res := Resources{
		Table: "t", DocumentsBucket: "d", ExportsBucket: "e", ScheduleGroup: "g", Sender: "s@x.example.com",
		SchedulerRole: "role", DeadLetterARN: "dlq", EvidenceBucket: "ev", CertificateKey: "key-1",
		FunctionARN: func(logical string) (string, error) {
			if !ids[logical] {
				t.Errorf("FunctionARN(%s): got a name that is no function of template.yaml", logical)
			}
			return "arn:" + logical, nil
		},
	}
	purge := map[string]string{}
	for _, f := range fns {
		env, err := f.Environ(res)
		if err != nil {
			t.Errorf("%s: got error %v, want every reference resolved", f.LogicalID, err)
			continue
		}
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == "PURGE_FUNCTION_ARN" {
				purge[f.LogicalID] = v
			} else if k == "PURGE_DELAY_DAYS" && v != "30" {
				t.Errorf("%s: PURGE_DELAY_DAYS: got %q, want the parameter's default 30", f.LogicalID, v)
			} else if (k == "EVIDENCE_BUCKET" && v != "ev") || (k == "CERTIFICATE_KEY_ID" && v != "key-1") {
				t.Errorf("%s: %s: got %q, want the evidence ledger's", f.LogicalID, k, v)
			}
		}
	}
	if purge["PurgeFunction"] != "arn:PurgeFunction" || purge["DeletionRequestFunction"] != purge["PurgeFunction"] {
		t.Errorf("PURGE_FUNCTION_ARN: got %v, want arn:PurgeFunction for both", purge)
	}
	if _, err := res.Resolve(Value{Ref: "NoSuchThing"}); err == nil {
		t.Error("Resolve(!Ref NoSuchThing): got nil error, want one")
	}
}
