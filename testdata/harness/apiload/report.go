package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// environment says where the figures were measured.
type environment struct {
	Date, CPU, Kernel, Go, Commit, FS string
	CPUs                              int
}

func describeEnvironment(dataDir string, fs *fsyncResult) environment {
	e := environment{Date: time.Now().UTC().Format("2006-01-02"), CPUs: runtime.NumCPU(), Go: runtime.Version()}
	e.CPU = stats.Host.CPUModel()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		e.Commit = strings.TrimSpace(string(out))
	}
	e.FS = dataDir
	if fs != nil && fs.TmpFS {
		e.FS += " (tmpfs: fsync is free there, so durability costs are understated)"
	}
	return e
}

// writeReport writes the summary table (ready for README.md, Performance
// → API) and the detail tables of each phase that ran.
func writeReport(w io.Writer, r *results, cfg config) {
	var b bytes.Buffer
	e := r.Env
	fmt.Fprintf(&b, "Measured %s with `go run ./apiload` (in testdata/harness) (beacon %s, %s) on %d vCPU %s, Linux %s; "+
		"the load generator runs on the same vCPUs. Data dir: %s. MB = 10^6 bytes. "+
		"Each measurement waits for other processes to use under %.0f%% of the CPU (up to %v) and is repeated (up to %d attempts) if they used over %.0f%% during it; the least disturbed attempt is kept.\n\n",
		e.Date, e.Commit, e.Go, e.CPUs, e.CPU, e.Kernel, e.FS, 100*cfg.quiet, cfg.quietWait, cfg.attempts, 100*cfg.maxOthers)
	b.WriteString("| measure | beacon | target | result | Consul 1.14 agent, same machine |\n|---|---|---|---|---|\n")
	for _, v := range r.verdicts() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", v.What, v.Got, v.Target, v.Result, v.Peer)
	}
	if len(r.Throughput) > 0 {
		fmt.Fprintf(&b, "\nDurable registrations over HTTP (PUT /v1/agent/service/register, unique IDs over %d services, one tag, one meta key, no checks; keep-alive connections, one per client; each level on a fresh beacon, %v or %s registrations after a warm-up). "+
			"A commit is one bbolt transaction made durable (fdatasync of the pages, then of the meta page), counted by `beacon_store_commit_duration_seconds_count`.\n\n",
			throughputServices, cfg.duration, thousands(float64(cfg.maxRegs)))
		b.WriteString("| clients | registrations | registrations/s | commits | commits/registration | registrations/commit | p50 | p99 | beacon CPU/registration | other processes' CPU |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, row := range r.Throughput {
			cpu := "—"
			if row.Use.Known && row.Res.N > 0 {
				cpu = fmt.Sprintf("%.0f µs", float64(row.Use.Server.Microseconds())/float64(row.Res.N))
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %.3f | %.1f | %s | %s | %s | %s |\n", row.Clients, thousands(float64(row.Res.N)),
				thousands(rate(row.Res.N, row.Res.Elapsed)), thousands(row.Commits), row.CommitsPerReg(), row.PerCommit(),
				ms(row.Res.Lat.P50), ms(row.Res.Lat.P99), cpu, others(row.Use, r.Env.CPUs))
		}
	}
	if g := r.Growth; g != nil {
		fmt.Fprintf(&b, "\nCatalog growth: %s instances over %s services (%s per service), %d clients, on a fresh beacon; other processes used %s of the machine meanwhile.\n\n",
			thousands(float64(g.Target)), thousands(float64(g.Services)), thousands(float64(g.Target/max(g.Services, 1))), g.Clients, others(g.Use, r.Env.CPUs))
		b.WriteString("| instances | registrations/s | p50 | p99 | beacon CPU/registration |\n|---|---|---|---|---|\n")
		for _, s := range g.Res.Steps {
			cpu := "—"
			if s.CPU > 0 {
				cpu = fmt.Sprintf("%d µs", s.CPUPerReg().Microseconds())
			}
			fmt.Fprintf(&b, "| %s–%s | %s | %s | %s | %s |\n", thousands(float64(s.Upto-s.N)), thousands(float64(s.Upto)),
				thousands(rate(s.N, s.Elapsed)), ms(s.Lat.P50), ms(s.Lat.P99), cpu)
		}
	}
	if len(r.Watch) > 0 {
		fmt.Fprintf(&b, "\nBlocked watchers, %d rounds per row, percentiles over all of them: in each round %d clients each hold GET ...?index=N&wait=5m on their own connection; once all are sent and %v more has passed, "+
			"one registration changes what they watch (a new instance of NAME; for the catalog, a new service). Time runs to the first byte of each watcher's answer (each is then read in full and checked), from the registration's 200 "+
			"(a watcher answered before the 200 arrived counts as 0) and from sending the registration: beacon answers the watchers as soon as the change is committed, so its own 200 queues behind them. "+
			"CPU is used from sending the registration until the last answer, summed over the rounds (10 ms resolution for beacon); the registration round trip is the median round's.\n\n", cfg.watchRounds, cfg.watchers, cfg.settle)
		b.WriteString("| catalog | endpoint | from the 200: p50 | p99 | max | answered before the 200 | from sending: p50 | p99 | max | registration round trip | CPU beacon / apiload / other processes |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, w := range append(slices.Clone(r.Watch), r.Floor...) {
			cpu := "—"
			if w.Use.Known {
				cpu = fmt.Sprintf("%s / %s / %s", ms(w.Use.Server), ms(w.Use.Self), others(w.Use, r.Env.CPUs))
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", w.Catalog, w.Endpoint,
				ms(w.Lat.P50), ms(w.Lat.P99), ms(w.Lat.Max), w.Early, ms(w.FromSend.P50), ms(w.FromSend.P99), ms(w.FromSend.Max), ms(w.Write), cpu)
		}
	}
	if f := r.Fsync; f != nil {
		fmt.Fprintf(&b, "\nfsync probe: 4 KiB pwrite + fdatasync in the data dir, %d times: p50 %s, p99 %s, max %s.\n", f.N, ms(f.Lat.P50), ms(f.Lat.P99), ms(f.Lat.Max))
	}
	_, _ = w.Write(b.Bytes())
}

// others is the share of the machine's CPU other processes used.
func others(u cpuUse, cpus int) string {
	if !u.Known {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*u.OthersShare(cpus))
}

// ms formats d in milliseconds with two significant decimals for small
// values.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

// thousands rounds v to an integer and groups its digits by comma.
func thousands(v float64) string {
	n := int64(math.Round(v))
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
