package health

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/beacon-dns/beacon/internal/testkit"
	"github.com/beacon-dns/beacon/store"
)

// TestLocalErrnos: the errnos of a host out of resources are told apart
// by value through every wrapping the dialers and the HTTP client add,
// never by message.
func TestLocalErrnos(t *testing.T) {
	dial := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", errno)}
	}
	tests := []struct {
		name  string
		err   error
		local bool
	}{
		{"EMFILE from socket", dial(syscall.EMFILE), true},
		{"ENFILE from socket", dial(syscall.ENFILE), true},
		{"ENOBUFS from connect", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ENOBUFS)}, true},
		{"ENOMEM from socket", dial(syscall.ENOMEM), true},
		{"EMFILE through the HTTP client", &url.Error{Op: "Get", URL: "http://x/", Err: dial(syscall.EMFILE)}, true},
		{"EMFILE wrapped with %w", fmt.Errorf("checking: %w", dial(syscall.EMFILE)), true},
		{"connection refused", dial(syscall.ECONNREFUSED), false},
		{"unreachable", dial(syscall.EHOSTUNREACH), false},
		{"the message alone", errors.New("socket: too many open files"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, ok := noResult(tc.err)
			if ok != tc.local || ok && res.Local != tc.err {
				t.Errorf("noResult(%v) = %+v, %v; want local %v", tc.err, res, ok, tc.local)
			}
		})
	}
}

// emfileChild marks the child process of TestOutOfDescriptorsKeepsStatus.
const emfileChild = "BEACON_HEALTH_TEST_EMFILE_CHILD"

// TestOutOfDescriptorsKeepsStatus runs HTTP and TCP checks while the
// process really has no descriptor left (its RLIMIT_NOFILE lowered to
// what it holds, so socket(2) fails with EMFILE): the runs have no
// result, are counted and logged, and the checks keep their status; once
// descriptors are back the next interval's run reports again. The limit
// is the whole process's, so the test runs in a child process of its
// own.
func TestOutOfDescriptorsKeepsStatus(t *testing.T) {
	if os.Getenv(emfileChild) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutOfDescriptorsKeepsStatus$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), emfileChild+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("child: checks kept their status")) {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		return
	}
	clk := testkit.NewClock()
	st := openStore(t, t.TempDir(), nil)
	reg := prometheus.NewPedanticRegistry()
	logs := &testkit.SyncBuffer{}
	// Targets that fail once really checked: a closed port and a 500.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	bad := newBackend(t, 500)
	start(t, st, Config{Clock: clk, Registerer: reg, phase: func(time.Duration) time.Duration { return 0 },
		Logger: slog.New(slog.NewTextHandler(logs, nil))})

	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lowest, err := syscall.Dup(0) // the lowest free descriptor
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(lowest)
	out := lim
	out.Cur = uint64(lowest)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &out); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer restore()
	if _, err := net.Dial("tcp", closedAddr); !errors.Is(err, syscall.EMFILE) {
		restore()
		t.Fatalf("with the limit lowered, a dial failed with %v, not EMFILE", err)
	}

	register(t, st, "tcp-1", store.CheckSpec{TCP: closedAddr, Interval: time.Second, Status: store.Passing})
	register(t, st, "http-1", store.CheckSpec{HTTP: bad.URL, Interval: time.Second, Status: store.Passing})
	emfile := func() float64 {
		return metricValue(t, reg, "beacon_health_runs_without_result_total", map[string]string{"errno": "EMFILE"})
	}
	waitFor(t, 5*time.Second, "both runs counted without result", func() bool { return emfile() >= 2 })
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("no next run planned")
	}
	restore()
	s1, s2 := statusOf(st, "service:tcp-1"), statusOf(st, "service:http-1")
	if s1 != store.Passing || s2 != store.Passing {
		t.Errorf("out of descriptors: tcp %s, http %s; want both still passing", s1, s2)
	}
	if n := strings.Count(logs.String(), "this host is out of a resource"); n != 1 {
		t.Errorf("%d warnings logged for two runs within a minute, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("the warning does not name the error:\n%s", logs)
	}

	clk.Advance(time.Second)
	waitFor(t, 5*time.Second, "the next interval's runs report", func() bool {
		return statusOf(st, "service:tcp-1") == store.Critical && statusOf(st, "service:http-1") == store.Critical
	})
	if got := checkOf(st, "service:tcp-1").Output; !strings.Contains(got, "connection refused") {
		t.Errorf("tcp output %q, want the real failure", got)
	}
	if n := emfile(); n != 2 {
		t.Errorf("%v runs without result, want the 2 of the first interval", n)
	}
	t.Log("child: checks kept their status")
}
