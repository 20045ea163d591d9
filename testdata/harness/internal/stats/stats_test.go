package stats

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fixture is a proc file system in testdata: process 4242 is a real
// beacon's stat and status (its command renamed to one with spaces and
// parentheses), 4243 a second process of its group.
const fixture Proc = "testdata/proc"

func TestFixture(t *testing.T) {
	if cpu, err := fixture.CPU(4242); err != nil || cpu != 10*time.Millisecond {
		t.Errorf("CPU = %v, %v; want 10ms", cpu, err)
	}
	want := Memory{RSS: 15716 << 10, Anon: 2472 << 10, File: 13244 << 10, Peak: 15716 << 10}
	if m, err := fixture.Memory(4242); err != nil || m != want {
		t.Errorf("Memory = %+v, %v; want %+v", m, err, want)
	}
	if cpu, err := fixture.GroupCPU(5135); err != nil || cpu != 4010*time.Millisecond {
		t.Errorf("GroupCPU = %v, %v; want 4.01s", cpu, err)
	}
	if _, err := fixture.GroupCPU(1); err == nil {
		t.Error("GroupCPU of a group without processes gave no error")
	}
	// user+nice+system+irq+softirq+steal ticks of the "cpu" line.
	if busy, err := fixture.MachineBusy(); err != nil || busy != 849720*time.Millisecond {
		t.Errorf("MachineBusy = %v, %v; want 849.72s", busy, err)
	}
	if la, err := fixture.LoadAverage(); err != nil || la != 4.79 {
		t.Errorf("LoadAverage = %v, %v", la, err)
	}
	if m := fixture.CPUModel(); m != "Intel(R) Xeon(R) Processor" {
		t.Errorf("CPUModel = %q", m)
	}
	if m := Proc("testdata/none").CPUModel(); m != "unknown CPU" {
		t.Errorf("CPUModel without a cpuinfo = %q", m)
	}
	// Two sockets on port 8600 (0x2198) dropped 17 and 3; one on 53, 500.
	if onPort, all, err := fixture.UDPDrops(4242, 8600); err != nil || onPort != 20 || all != 26038 {
		t.Errorf("UDPDrops = %d, %d, %v; want 20, 26038", onPort, all, err)
	}
	if _, err := fixture.Memory(4243); err == nil {
		t.Error("Memory of a process without a status file gave no error")
	}
}

// TestHost reads this process and this machine.
func TestHost(t *testing.T) {
	pid := os.Getpid()
	before, err := Host.CPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	busyBefore, err := Host.MachineBusy()
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
	}
	after, err := Host.CPU(pid)
	if err != nil || after <= before {
		t.Errorf("CPU after 100ms of work: %v then %v, %v", before, after, err)
	}
	if busy, err := Host.MachineBusy(); err != nil || busy <= busyBefore {
		t.Errorf("MachineBusy after 100ms of work: %v then %v, %v", busyBefore, busy, err)
	}
	if group, err := Host.GroupCPU(syscall.Getpgrp()); err != nil || group < after {
		t.Errorf("GroupCPU of this process's group %v < its own %v (%v)", group, after, err)
	}
	m, err := Host.Memory(pid)
	if err != nil || m.RSS == 0 || m.Peak < m.RSS {
		t.Errorf("Memory = %+v, %v", m, err)
	}
	n, err := Host.OpenFiles(pid)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m, err := Host.OpenFiles(pid); err != nil || m != n+1 {
		t.Errorf("OpenFiles %d, then %d (%v) after opening one", n, m, err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if onPort, _, err := Host.UDPDrops(pid, pc.LocalAddr().(*net.UDPAddr).Port); err != nil || onPort != 0 {
		t.Errorf("UDPDrops of a fresh socket = %d, %v", onPort, err)
	}
	if _, err := Host.LoadAverage(); err != nil {
		t.Error(err)
	}
	if _, err := Host.CPU(-1); err == nil {
		t.Error("CPU of no process gave no error")
	}
}

func TestMetric(t *testing.T) {
	// testdata/metrics.txt is /metrics of a real beacon after three
	// registrations.
	fixture, err := os.ReadFile("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		text   string
		metric string
		want   float64
		err    string
	}{
		{"histogram count", string(fixture), "beacon_store_commit_duration_seconds_count", 3, ""},
		{"gauge, exponent form", string(fixture), "go_memstats_heap_inuse_bytes", 2.17088e+06, ""},
		{"histogram base name is no sample", string(fixture), "beacon_store_commit_duration_seconds", 0, "not found"},
		{"prefix of a longer name", "foo_total 3\n", "foo", 0, "not found"},
		{"labelled samples skipped", "x{a=\"1\"} 5\nx 6\n", "x", 6, ""},
		{"labelled only", "x{a=\"1\"} 5\n", "x", 0, "not found"},
		{"timestamp", "x 7 1700000000000\n", "x", 7, ""},
		{"typed", "# HELP x 9\n# TYPE x counter\nx 8\n", "x", 8, ""},
		{"summary sum", "# TYPE s summary\ns_sum 2.5\ns_count 4\n", "s_sum", 2.5, ""},
		{"bad value", "x abc\n", "x", 0, "reading metrics"},
		{"empty", "", "x", 0, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Metric(strings.NewReader(tt.text), tt.metric)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Metric = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
