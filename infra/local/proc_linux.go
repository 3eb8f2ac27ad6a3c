package main

import (
	"os/exec"
	"syscall"
	"time"
)

// setProcessGroup puts cmd in its own process group, which ending the
// context terminates as a whole; the kernel kills it too should this
// program die without cleaning up.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
}

// killGroup kills what is left of cmd's process group once its leader has
// exited.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
