//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/wellness-rtbf/rtbf/infra/rie"
)

// sdkService is an AWS SDK service client a function may link, with one
// operation the floor program calls so that the operation's code is linked
// as it is in the function.
type sdkService struct {
	pkg, ctor, call string
}

var sdkServices = []sdkService{
	{"github.com/aws/aws-sdk-go-v2/service/dynamodb", "dynamodb.NewFromConfig(cfg)", "GetItem(ctx, nil)"},
	{"github.com/aws/aws-sdk-go-v2/service/s3", "s3.NewFromConfig(cfg)", "DeleteObjects(ctx, nil)"},
	{"github.com/aws/aws-sdk-go-v2/service/scheduler", "scheduler.NewFromConfig(cfg)", "CreateSchedule(ctx, nil)"},
	{"github.com/aws/aws-sdk-go-v2/service/sesv2", "sesv2.NewFromConfig(cfg)", "SendEmail(ctx, nil)"},
}

// sdkFloor is the size below which a function's bootstrap cannot go with
// this SDK: the arm64 size, built with the flags of infra/sam.mk, of a
// program that only starts the Lambda runtime, builds the SDK clients the
// function's package links, and calls one operation on each. It lists the
// clients from the package's dependencies, so it cannot drift from the
// code.
func sdkFloor(ctx context.Context, root, pkgDir, workDir string) (clients []string, size int64, err error) {
	list := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{.ImportPath}}", "./"+pkgDir)
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		return nil, 0, fmt.Errorf("go list %s: %w", pkgDir, err)
	}
	deps := map[string]bool{}
	for _, d := range strings.Fields(string(out)) {
		deps[d] = true
	}
	var imports, body strings.Builder
	for i, s := range sdkServices {
		if !deps[s.pkg] {
			continue
		}
		clients = append(clients, path.Base(s.pkg))
		fmt.Fprintf(&imports, "\t%q\n", s.pkg)
		fmt.Fprintf(&body, "\tc%d := %s\n\tcalls = append(calls, func(ctx context.Context) error { _, err := c%d.%s; return err })\n", i, s.ctor, i, s.call)
	}
	src := "package main\n\nimport (\n\t\"context\"\n\n\t\"github.com/aws/aws-lambda-go/lambda\"\n\t\"github.com/aws/aws-sdk-go-v2/aws\"\n" +
		imports.String() + ")\n\nfunc main() {\n\tcfg := aws.Config{}\n\tvar calls []func(context.Context) error\n" + body.String() +
		"\tlambda.StartHandlerFunc(func(ctx context.Context, _ struct{}) (struct{}, error) {\n" +
		"\t\tfor _, c := range calls {\n\t\t\tif err := c(ctx); err != nil {\n\t\t\t\treturn struct{}{}, err\n\t\t\t}\n\t\t}\n" +
		"\t\treturn struct{}{}, nil\n\t})\n}\n"
	// Inside the module, so the build uses go.mod's versions.
	dir := filepath.Join(root, workDir, "sdkfloor", filepath.Base(pkgDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return nil, 0, err
	}
	bin, err := rie.BuildPackage(ctx, root, dir, dir, "arm64")
	if err != nil {
		return nil, 0, fmt.Errorf("build the SDK floor of %s: %w", pkgDir, err)
	}
	info, err := os.Stat(bin)
	if err != nil {
		return nil, 0, err
	}
	return clients, info.Size(), nil
}
