package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// fsyncChildDir, when set, makes TestFsyncFailureChild run the writes of
// TestFsyncFailure on the data dir it names.
const fsyncChildDir = "BEACON_FSYNC_CHILD_DIR"

// fsyncOp is one write the child made and how it was answered.
type fsyncOp struct {
	Op, ID  string
	Err     string
	Stopped bool // the answer wraps ErrWritesStopped
}

// fsyncReport is what the child saw: the answers, the instances in its
// memory afterwards, and its health.
type fsyncReport struct {
	Ops     []fsyncOp
	Memory  []string
	Healthy string
	Stopped bool // Healthy wraps ErrWritesStopped
}

// TestFsyncFailure makes fdatasync fail with EIO in a real beacon store,
// re-executing this test binary under strace, which injects the fault:
// into the first fdatasync of a commit (the data pages, before the meta
// page that makes the commit visible is written) or into the second (the
// meta page's). It holds the answers, the memory of the store that saw
// the fault and the state a restart loads to agreeing: an answer of
// success or of "nothing was changed" is what memory shows and the disk
// holds; an answer of "outcome unknown" stops every later write, and the
// disk then holds the state with or without that one write.
func TestFsyncFailure(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("strace is not installed; CI must install it for this test")
		}
		t.Skip("strace is not installed")
	}
	cases := []struct {
		name string
		when string // strace's when= for fdatasync
		// outcome the first write must get: "changed nothing" or "unknown"
		first string
	}{
		{"data pages sync fails once", "1", "changed nothing"},
		{"data pages sync fails from then on", "1+", "changed nothing"},
		{"meta page sync fails once", "2", "unknown"},
		{"meta page sync fails from then on", "2+", "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir, nil)
			for _, id := range []string{"a", "b"} {
				mustRegister(t, s, Registration{ID: id, Name: "web"})
			}
			closeChecked(t, s)

			cmd := exec.Command(strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=fdatasync",
				"-e", "inject=fdatasync:error=EIO:when="+c.when,
				os.Args[0], "-test.run=^TestFsyncFailureChild$", "-test.count=1", "-test.v")
			// Idle Ps let a goroutine back from a syscall stay on its
			// thread, and strace counts fdatasync calls per thread.
			cmd.Env = append(os.Environ(), fsyncChildDir+"="+dir, "GOMAXPROCS=4")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child under strace: %v\n%s", err, out)
			}
			rep := readFsyncReport(t, out)
			t.Logf("answers: %+v; memory %v; healthy %q", rep.Ops, rep.Memory, rep.Healthy)

			first := rep.Ops[0]
			switch {
			case c.first == "changed nothing" && (first.Err == "" || first.Stopped):
				t.Fatalf("the fault in the data pages' sync was answered %q, want a failure that changed nothing", first.Err)
			case c.first == "unknown" && !first.Stopped:
				t.Fatalf("the fault in the meta page's sync was answered %q, want an unknown outcome that stops writes", first.Err)
			}

			disk := instanceIDs(openTest(t, dir, nil).Snapshot())
			t.Logf("after a restart: %v", disk)
			known, unknown := []string{"a", "b"}, []string(nil)
			for i, op := range rep.Ops {
				switch {
				case unknown != nil:
					if !op.Stopped || strings.Contains(op.Err, "outcome of this write is unknown") {
						t.Errorf("write %d after an unknown outcome answered %q, want writes stopped", i, op.Err)
					}
				case op.Err == "":
					known = applyOp(known, op)
				case op.Stopped:
					if !strings.Contains(op.Err, "outcome of this write is unknown") || !strings.Contains(op.Err, "restart beacon") {
						t.Errorf("write %d: %q does not say its outcome is unknown and what to do", i, op.Err)
					}
					unknown = applyOp(known, op)
				default:
					if strings.Contains(op.Err, "unknown") {
						t.Errorf("write %d: a failure that changed nothing answered %q", i, op.Err)
					}
				}
			}
			if !slices.Equal(rep.Memory, known) {
				t.Errorf("memory holds %v, but the answers say %v", rep.Memory, known)
			}
			if !slices.Equal(disk, known) && (unknown == nil || !slices.Equal(disk, unknown)) {
				t.Errorf("after a restart the disk holds %v; the answers allow %v (or %v)", disk, known, unknown)
			}
			if unknown != nil && (!rep.Stopped || !strings.Contains(rep.Healthy, "restart beacon")) {
				t.Errorf("health after an unknown outcome is %q, want writes stopped", rep.Healthy)
			}
			if unknown == nil && rep.Healthy != "" {
				t.Errorf("health is %q though every failure changed nothing", rep.Healthy)
			}
		})
	}
}

// TestFsyncFailureChild is the process TestFsyncFailure runs under
// strace; on its own it does nothing.
func TestFsyncFailureChild(t *testing.T) {
	dir := os.Getenv(fsyncChildDir)
	if dir == "" {
		t.Skip("run by TestFsyncFailure")
	}
	s, err := Open(Options{Dir: dir, NodeName: "node1", Logger: slog.New(slog.DiscardHandler), LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var rep fsyncReport
	record := func(op, id string, err error) {
		o := fsyncOp{Op: op, ID: id, Stopped: errors.Is(err, ErrWritesStopped)}
		if err != nil {
			o.Err = err.Error()
		}
		rep.Ops = append(rep.Ops, o)
	}
	record("deregister", "a", s.Deregister("a"))
	_, err = s.Register(Registration{ID: "c", Name: "web"})
	record("register", "c", err)
	record("deregister", "b", s.Deregister("b"))
	rep.Memory = instanceIDs(s.Snapshot())
	if err := s.Healthy(); err != nil {
		rep.Healthy, rep.Stopped = err.Error(), errors.Is(err, ErrWritesStopped)
	}
	_ = s.Close()
	b, _ := json.Marshal(rep)
	os.Stdout.Write(append(append([]byte("FSYNC-REPORT "), b...), '\n'))
}

func readFsyncReport(t *testing.T, out []byte) fsyncReport {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "FSYNC-REPORT "); ok {
			var rep fsyncReport
			if err := json.Unmarshal([]byte(line), &rep); err != nil {
				t.Fatal(err)
			}
			return rep
		}
	}
	t.Fatalf("the child wrote no report:\n%s", out)
	return fsyncReport{}
}

func applyOp(ids []string, op fsyncOp) []string {
	out := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == op.ID })
	if op.Op == "register" {
		out = append(out, op.ID)
		slices.Sort(out)
	}
	return out
}

func instanceIDs(snap *Snapshot) []string {
	var ids []string
	for _, in := range snap.Instances() {
		ids = append(ids, in.ID)
	}
	return ids
}
