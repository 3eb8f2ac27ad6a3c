//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
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
	{"github.com/aws/aws-sdk-go-v2/service/kms", "kms.NewFromConfig(cfg)", "Sign(ctx, nil)"},
	{"github.com/aws/aws-sdk-go-v2/service/s3", "s3.NewFromConfig(cfg)", "DeleteObjects(ctx, nil)"},
	{"github.com/aws/aws-sdk-go-v2/service/scheduler", "scheduler.NewFromConfig(cfg)", "CreateSchedule(ctx, nil)"},
	{"github.com/aws/aws-sdk-go-v2/service/sesv2", "sesv2.NewFromConfig(cfg)", "SendEmail(ctx, nil)"},
}

// sdkFloor builds, with the flags of infra/sam.mk, the program that sets a
// function's floor with this SDK: it only starts the Lambda runtime, builds
// the SDK clients the function's package links, and on each invocation calls
// one operation on each (with no input, so the call fails its validation
// before any network; the error is ignored and the invocation answers) so
// that the operation's code is linked as it is in the function. No bootstrap
// can be smaller or start faster. It lists the clients from the package's
// dependencies, so it cannot drift from the code. Its source is written
// under root's workDir (inside the module, so the build uses go.mod's
// versions) and removed; it returns the clients, the program's arm64 size
// and its build for this host, under outDir.
func sdkFloor(ctx context.Context, root, pkgDir, workDir, outDir string) (clients []string, size int64, host string, err error) {
	list := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{.ImportPath}}", "./"+pkgDir)
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		return nil, 0, "", fmt.Errorf("go list %s: %w", pkgDir, err)
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
	prog := "package main\n\nimport (\n\t\"context\"\n\n\t\"github.com/aws/aws-lambda-go/lambda\"\n\t\"github.com/aws/aws-sdk-go-v2/aws\"\n" +
		imports.String() + ")\n\nfunc main() {\n\tcfg := aws.Config{}\n\tvar calls []func(context.Context) error\n" + body.String() +
		"\tlambda.StartHandlerFunc(func(ctx context.Context, _ struct{}) (struct{}, error) {\n" +
		"\t\tfor _, c := range calls {\n\t\t\t_ = c(ctx)\n\t\t}\n" +
		"\t\treturn struct{}{}, nil\n\t})\n}\n"
	src := filepath.Join(root, workDir, "sdkfloor", filepath.Base(pkgDir))
	if err := os.MkdirAll(src, 0o755); err != nil {
		return nil, 0, "", err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(prog), 0o644); err != nil {
		return nil, 0, "", err
	}
	arm, err := rie.BuildPackage(ctx, root, src, filepath.Join(outDir, "arm64"), "arm64")
	if err != nil {
		return nil, 0, "", fmt.Errorf("build the SDK floor of %s: %w", pkgDir, err)
	}
	info, err := os.Stat(arm)
	if err != nil {
		return nil, 0, "", err
	}
	host, err = rie.BuildPackage(ctx, root, src, filepath.Join(outDir, runtime.GOARCH), runtime.GOARCH)
	if err != nil {
		return nil, 0, "", fmt.Errorf("build the SDK floor of %s: %w", pkgDir, err)
	}
	return clients, info.Size(), host, nil
}
