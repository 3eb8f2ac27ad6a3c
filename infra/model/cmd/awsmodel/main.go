// Command awsmodel runs the AWS behaviour model (infra/model) as an HTTP
// proxy in front of the emulator, for processes that take their endpoint
// from AWS_ENDPOINT_URL:
//
//	awsmodel [-target URL] [-params SPEC]
//
// It prints the modelled endpoint (url=…) and the observer's pass-through
// (observer=…), then serves until interrupted, and prints the model's
// counts when it stops. -target defaults to RTBF_EMULATOR_URL and -params
// to RTBF_MODEL (model.Parse's form; "default" when empty).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/wellness-rtbf/rtbf/infra/model"
)

func main() {
	target := flag.String("target", os.Getenv("RTBF_EMULATOR_URL"), "the emulator's URL [RTBF_EMULATOR_URL]")
	spec := flag.String("params", os.Getenv("RTBF_MODEL"), "the model's parameters [RTBF_MODEL]")
	flag.Parse()
	if *target == "" {
		fmt.Fprintln(os.Stderr, "awsmodel: no -target and no RTBF_EMULATOR_URL")
		os.Exit(2)
	}
	p, err := model.Parse(*spec, model.Defaults())
	if err != nil {
		fmt.Fprintln(os.Stderr, "awsmodel:", err)
		os.Exit(2)
	}
	srv, err := model.Serve(*target, p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "awsmodel:", err)
		os.Exit(1)
	}
	fmt.Printf("url=%s\nobserver=%s\nparams=%s\n", srv.URL, srv.ObserverURL, p)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	srv.Close()
	json.NewEncoder(os.Stderr).Encode(srv.Model.Stats())
}
