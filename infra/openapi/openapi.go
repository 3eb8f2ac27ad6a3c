// Package openapi loads the API's contract, infra/openapi.yaml, and reads
// what the checks of it need: the operations, the routes template.yaml
// serves, the error codes each response may carry, and the claims each
// operation requires (its x-required-claims extension).
package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wellness-rtbf/rtbf/internal/localstack"
)

// File is the contract's path from the repository root.
const File = "infra/openapi.yaml"

// Root finds the repository root: the working directory or the nearest
// directory above it that holds infra/openapi.yaml (tests run in their
// package's directory).
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, File)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found in this directory or above", File)
		}
		dir = parent
	}
}

// Load reads infra/openapi.yaml and validates it as an OpenAPI 3 document.
func Load() (*openapi3.T, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	return LoadFile(filepath.Join(root, File))
}

// LoadFile reads and validates the document at path.
func LoadFile(path string) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate %s: %w", path, err)
	}
	return doc, nil
}

// Route is one method and path ("GET /v1/notifications").
type Route struct {
	Method, Path string
}

func (r Route) String() string { return r.Method + " " + r.Path }

// Operation is one operation of the document.
type Operation struct {
	Route
	PathItem  *openapi3.PathItem
	Operation *openapi3.Operation
}

// Operations lists the document's operations, sorted by path and method.
func Operations(doc *openapi3.T) []Operation {
	var out []Operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, Operation{Route: Route{Method: strings.ToUpper(method), Path: path}, PathItem: item, Operation: op})
		}
	}
	slices.SortFunc(out, func(a, b Operation) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// Find returns the operation serving method and the concrete request path,
// with the path's parameters, as API Gateway matches a route: literal
// segments equal, a {name} segment any one non-empty segment.
func Find(doc *openapi3.T, method, path string) (Operation, map[string]string, bool) {
	for _, op := range Operations(doc) {
		if op.Method != strings.ToUpper(method) {
			continue
		}
		if params, ok := MatchPath(op.Path, path); ok {
			return op, params, true
		}
	}
	return Operation{}, nil, false
}

// MatchPath matches a request path against a route path whose segments may
// be {name} parameters.
func MatchPath(pattern, path string) (map[string]string, bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = xs[i]
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return params, true
}

// TemplateRoutes reads the HttpApi events of template.yaml at the
// repository root, sorted.
func TemplateRoutes() ([]Route, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	fns, err := localstack.ReadFunctions(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	var out []Route
	for _, f := range fns {
		for _, r := range f.Routes {
			out = append(out, Route{Method: r.Method, Path: r.Path})
		}
	}
	slices.SortFunc(out, func(a, b Route) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}

// ErrorCodes reads the document's x-error-codes: every error code the API
// answers with, and its status.
func ErrorCodes(doc *openapi3.T) (map[string]int, error) {
	var out map[string]int
	if err := extension(doc.Extensions, "x-error-codes", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ResponseCodes returns the error codes a response schema may carry: the
// enum of error.code in the schema, or in each of its oneOf alternatives.
// A schema without error.code (a success body, API Gateway's own message)
// gives none.
func ResponseCodes(s *openapi3.SchemaRef) []string {
	if s == nil || s.Value == nil {
		return nil
	}
	var out []string
	for _, alt := range s.Value.OneOf {
		out = append(out, ResponseCodes(alt)...)
	}
	if e := s.Value.Properties["error"]; e != nil && e.Value != nil {
		if c := e.Value.Properties["code"]; c != nil && c.Value != nil {
			for _, v := range c.Value.Enum {
				if code, ok := v.(string); ok {
					out = append(out, code)
				}
			}
		}
	}
	return out
}

// JSONSchema is the application/json schema of a response, or nil.
func JSONSchema(r *openapi3.ResponseRef) *openapi3.SchemaRef {
	if r == nil || r.Value == nil {
		return nil
	}
	if mt := r.Value.Content.Get("application/json"); mt != nil {
		return mt.Schema
	}
	return nil
}

// RequiredClaims reads an operation's x-required-claims: each claim the
// caller's token must carry, with the JSON schema its value must satisfy.
func RequiredClaims(op *openapi3.Operation) (map[string]*openapi3.Schema, error) {
	var out map[string]*openapi3.Schema
	if err := extension(op.Extensions, "x-required-claims", &out); err != nil {
		return nil, fmt.Errorf("%s: %w", op.OperationID, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: x-required-claims is empty", op.OperationID)
	}
	for name, s := range out {
		if s == nil {
			return nil, fmt.Errorf("%s: x-required-claims %s has no schema", op.OperationID, name)
		}
		if err := s.Validate(context.Background()); err != nil {
			return nil, fmt.Errorf("%s: x-required-claims %s: %w", op.OperationID, name, err)
		}
	}
	return out, nil
}

// CheckClaims reports whether claims (as the authorizer passes them, every
// value a string) satisfy the operation's x-required-claims.
func CheckClaims(op *openapi3.Operation, claims map[string]string) error {
	want, err := RequiredClaims(op)
	if err != nil {
		return err
	}
	var errs []error
	for name, s := range want {
		v, ok := claims[name]
		if !ok {
			errs = append(errs, fmt.Errorf("claim %s is missing", name))
			continue
		}
		if err := s.VisitJSON(v); err != nil {
			errs = append(errs, fmt.Errorf("claim %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func extension(ext map[string]any, name string, v any) error {
	raw, ok := ext[name]
	if !ok {
		return fmt.Errorf("no %s", name)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
