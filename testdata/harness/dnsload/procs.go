package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// procs tracks every server process the harness starts so that all of them
// are stopped, by process group ID, on every way out of the run.
type procs struct {
	mu   sync.Mutex
	list []*child
}

// child is one started server process.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string // file holding its stdout and stderr
	done chan struct{}
	err  error // set before done is closed
}

// pinned is argv run through taskset on cpu and, when nice is not 0,
// through nice, which every thread the program starts inherits.
func pinned(cpu, nice int, argv []string) []string {
	out := []string{"taskset", "-c", strconv.Itoa(cpu)}
	if nice != 0 {
		out = append([]string{"nice", "-n", strconv.Itoa(nice)}, out...)
	}
	return append(out, argv...)
}

// start runs argv pinned to cpu through taskset, in its own process group
// (so a Ctrl-C at the terminal reaches only the harness, which then stops
// it) and with SIGKILL as its parent-death signal (so it cannot outlive a
// harness that is killed outright). Output goes to logDir/name.log.
func (p *procs) start(name string, cpu, nice int, logDir string, env []string, argv ...string) (*child, error) {
	logPath := filepath.Join(logDir, name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	args := pinned(cpu, nice, argv)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.list = append(p.list, c)
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// exited reports whether the child has ended, with its error.
func (c *child) exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.err
	default:
		return false, nil
	}
}

// logTail is the last lines of the child's output, for error messages.
func (c *child) logTail() string {
	data, err := os.ReadFile(c.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// stop sends SIGTERM to the child's process group, and SIGKILL if it has
// not ended within grace.
func (c *child) stop(grace time.Duration) {
	pgid := c.cmd.Process.Pid // Setpgid: the group ID is the child's PID
	if done, _ := c.exited(); !done {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(grace):
		}
	}
	// Also catches helper processes left in the group (NSD's children).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-c.done
}

// stopAll stops every started process, newest first.
func (p *procs) stopAll() {
	p.mu.Lock()
	list := p.list
	p.list = nil
	p.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		list[i].stop(3 * time.Second)
	}
}

// checkTools makes sure the programs that pin and prioritise processes are
// there; both come with every Debian system.
func checkTools() error {
	if _, err := exec.LookPath("taskset"); err != nil {
		return errors.New("taskset not found; install util-linux (apt-get install -y util-linux)")
	}
	if _, err := exec.LookPath("nice"); err != nil {
		return errors.New("nice not found; install coreutils")
	}
	return nil
}

// pinSelf moves every thread of this process to cpu, so that the harness
// (its correctness sampler and its waits) competes with the load generator
// and not with the server under test. Threads created later inherit the
// mask from the thread that creates them.
func pinSelf(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("pin to CPU %d: %w", cpu, err)
		}
	}
	return nil
}
