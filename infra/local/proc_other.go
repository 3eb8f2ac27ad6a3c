//go:build !linux

package main

import "os/exec"

// The local stack runs linux binaries (infra/sam.mk); Start refuses other
// hosts, so these only keep the package building there.
func setProcessGroup(cmd *exec.Cmd) {}
func killGroup(cmd *exec.Cmd)       {}
