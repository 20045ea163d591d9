package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-dns/beacon/testdata/harness/internal/stats"
)

// environment describes the machine and tools, for the table's caption.
type environment struct {
	CPU, Kernel, Go, DNSPerf, NSD string
	LoadBefore, LoadAfter         string // 1-minute load average
}

// loadAverage is the 1-minute load average: other work on the machine
// that competes with the servers and dnsperf.
func loadAverage() string {
	la, err := stats.Host.LoadAverage()
	if err != nil {
		return "?"
	}
	return strconv.FormatFloat(la, 'f', 2, 64)
}

func probeEnvironment(dnsperf string) environment {
	env := environment{CPU: stats.Host.CPUModel(), Go: runtime.Version(), LoadBefore: loadAverage()}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		env.Kernel = "Linux " + strings.TrimSpace(string(data))
	}
	env.DNSPerf = versionLine(dnsperf, "-h", "Version ")
	if nsd, err := exec.LookPath("nsd"); err == nil {
		env.NSD = versionLine(nsd, "-v", "NSD version ")
	}
	return env
}

// versionLine runs bin arg and returns the version after prefix in its
// output, or "" when there is none.
func versionLine(bin, arg, prefix string) string {
	out, _ := exec.Command(bin, arg).CombinedOutput()
	for line := range strings.SplitSeq(string(out), "\n") {
		if _, v, ok := strings.Cut(line, prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// report gathers the outcomes of a run and prints them.
type report struct {
	cfg      *config
	env      environment
	servers  []string
	results  map[string]map[row]*outcome // server → row → outcome
	checked  int                         // sampled answers under load, all servers
	timeouts int
	Failures []error // the first wrong answers, and failed checks
	wrong    int     // wrong answers in all
	after    bool    // all answers were checked after the load
	before   int     // questions checked per server, transport and pass
}

func newReport(h *harness) *report {
	rep := &report{cfg: h.cfg, env: h.env, results: map[string]map[row]*outcome{}, before: len(h.ds.allQuestions())}
	for _, t := range h.targets {
		rep.servers = append(rep.servers, t.name)
		rep.results[t.name] = map[row]*outcome{}
	}
	return rep
}

func (rep *report) outcome(server string, r row) *outcome {
	o := rep.results[server][r]
	if o == nil {
		o = &outcome{}
		rep.results[server][r] = o
	}
	return o
}

// add records a full-rate run; the best of the rounds counts.
func (rep *report) add(server string, r row, res *perfResult) {
	o := rep.outcome(server, r)
	o.Runs = append(o.Runs, res)
	if o.Best == nil || res.QPS > o.Best.QPS {
		o.Best = res
	}
}

func (rep *report) sampled(server string, s sampleResult) {
	rep.checked += s.Checked
	rep.timeouts += s.Timeouts
	rep.Failures = append(rep.Failures, s.Errors...)
	rep.wrong += s.Failed
}

// fail records a wrong answer (or a failed check of all answers).
func (rep *report) fail(err error) { rep.failN(err, 1) }

// failN records n wrong answers described by err.
func (rep *report) failN(err error, n int) {
	rep.Failures = append(rep.Failures, err)
	rep.wrong += n
}

// mustRatio is the Must target for beacon's rate over the reference's.
func mustRatio(r row) float64 {
	if r.Proto == "udp" && r.Kind != kindNX {
		return 0.9
	}
	return 0.8
}

// mustP99 is the Must target for p99 latency at half the maximum rate.
const mustP99 = time.Millisecond

// ratio is beacon's best rate over server's on r, or 0 when not measured.
func (rep *report) ratio(server string, r row) float64 {
	b, o := rep.results[nameBeacon][r], rep.results[server][r]
	if b == nil || b.Best == nil || o == nil || o.Best == nil || o.Best.QPS == 0 {
		return 0
	}
	return b.Best.QPS / o.Best.QPS
}

// ratioPerCPU is beacon's queries per server CPU-second over server's on
// r (of the best runs), or 0 when not measured.
func (rep *report) ratioPerCPU(server string, r row) float64 {
	b, o := rep.results[nameBeacon][r], rep.results[server][r]
	if b == nil || b.Best == nil || o == nil || o.Best == nil || o.Best.perCPUSecond() == 0 {
		return 0
	}
	return b.Best.perCPUSecond() / o.Best.perCPUSecond()
}

// misses lists the Must targets beacon missed.
func (rep *report) misses() []string {
	var out []string
	for _, r := range rows() {
		if q := rep.ratio(nameReference, r); q > 0 && q < mustRatio(r) {
			out = append(out, fmt.Sprintf("%s: beacon at %.2f× the reference, Must is ≥ %.1f×", rowLabel(r), q, mustRatio(r)))
		}
		if o := rep.results[nameBeacon][r]; o != nil && o.Half != nil && o.P99 >= mustP99 && rep.cfg.LatencyQPS == 0 {
			out = append(out, fmt.Sprintf("%s: beacon p99 %s ms at half rate, Must is < 1 ms", rowLabel(r), ms(o.P99)))
		}
	}
	return out
}

func (rep *report) has(server string) bool { return rep.results[server] != nil }

// write prints the markdown for README.md "Performance → DNS".
func (rep *report) write(w io.Writer) {
	c := rep.cfg
	fmt.Fprintf(w, "Measured with `%s` on %s (%s, %s): each server pinned to CPU %d, dnsperf %s (`-c %d -q %d -t %v`, %v per run",
		strings.Join(append([]string{"go run ./dnsload"}, c.args...), " "), rep.env.CPU, rep.env.Kernel, rep.env.Go, c.ServerCPU, rep.env.DNSPerf, c.Clients, c.Outstanding, c.Timeout.Seconds(), c.Duration)
	if c.Rounds > 1 {
		fmt.Fprintf(w, ", best of %d runs alternating between servers", c.Rounds)
	}
	fmt.Fprintf(w, ") pinned to CPU %d; %d services × %d instances, queries cycling over all of them (NXDOMAIN: as many unregistered names). ",
		c.ClientCPU, c.Services, c.Instances)
	fmt.Fprintf(w, "The reference is a miekg/dns server that answers by copying beacon's own packed answer and patching the ID: the ceiling for any miekg/dns server.")
	if rep.has(nameNSD) {
		fmt.Fprintf(w, " NSD %s serves the same records from a zone file with `rrl-ratelimit: 0`.", rep.env.NSD)
	}
	if rep.env.LoadAfter == "" {
		rep.env.LoadAfter = loadAverage()
	}
	fmt.Fprintf(w, " Load average before and after: %s, %s.\n\n", rep.env.LoadBefore, rep.env.LoadAfter)
	rep.writeRates(w)
	fmt.Fprintln(w)
	rep.writeLatency(w)
	fmt.Fprintln(w)
	rep.writeNotes(w)
}

func (rep *report) writeRates(w io.Writer) {
	fmt.Fprintln(w, "Queries per second at full rate (in parentheses: the share of its CPU the server got), beacon's ratio to the others, and the same ratio per second of server CPU time, which other load on the machine does not skew.")
	fmt.Fprintln(w)
	head := []string{"Query", "Transport"}
	for _, s := range rep.servers {
		head = append(head, s+" q/s")
	}
	head = append(head, "beacon ÷ reference", "Must", "per CPU-s")
	if rep.has(nameNSD) {
		head = append(head, "beacon ÷ NSD", "per CPU-s")
	}
	tableHead(w, head, 2)
	for _, r := range rep.measuredRows() {
		cells := []string{r.Kind, strings.ToUpper(r.Proto)}
		for _, s := range rep.servers {
			cells = append(cells, qps(rep.results[s][r]))
		}
		q := rep.ratio(nameReference, r)
		verdict := "✓"
		if q < mustRatio(r) {
			verdict = "✗"
		}
		cells = append(cells, fmt.Sprintf("%.2f", q), fmt.Sprintf("≥ %.1f %s", mustRatio(r), verdict),
			fmt.Sprintf("%.2f", rep.ratioPerCPU(nameReference, r)))
		if rep.has(nameNSD) {
			cells = append(cells, fmt.Sprintf("%.2f", rep.ratio(nameNSD, r)), fmt.Sprintf("%.2f", rep.ratioPerCPU(nameNSD, r)))
		}
		tableRow(w, cells)
	}
}

func (rep *report) writeLatency(w io.Writer) {
	head := []string{"Query", "Transport"}
	for _, s := range rep.servers {
		head = append(head, s+" avg", s+" p99 @ "+rep.latencyRate())
	}
	head = append(head, "response bytes")
	rate := "half of each server's own full rate"
	if rep.cfg.LatencyQPS > 0 {
		rate = fmt.Sprintf("%s queries/s for every server", thousands(rep.cfg.LatencyQPS))
	}
	fmt.Fprintf(w, "Latency in ms: avg at full rate (with %d queries outstanding, mostly queueing); p99 at %s (`dnsperf -Q`, per-query latencies from `-v`, nearest rank).\n", rep.cfg.Outstanding, rate)
	fmt.Fprintln(w)
	tableHead(w, head, 2)
	for _, r := range rep.measuredRows() {
		cells := []string{r.Kind, strings.ToUpper(r.Proto)}
		var sizes []string
		for _, s := range rep.servers {
			o := rep.results[s][r]
			avg, p99 := "–", "–"
			if o != nil && o.Best != nil {
				avg = ms(o.Best.AvgLatency)
				sizes = append(sizes, fmt.Sprint(o.Best.ResponseSize))
			}
			if o != nil && o.Half != nil {
				p99 = ms(o.P99)
			}
			cells = append(cells, avg, p99)
		}
		cells = append(cells, strings.Join(sizes, " / "))
		tableRow(w, cells)
	}
}

func (rep *report) writeNotes(w io.Writer) {
	when := "before the load (the run was cut short before the check after it)"
	if rep.after {
		when = "before and after the load"
	}
	fmt.Fprintf(w, "Answers were checked record by record (SRV priority, weight, port and target with its glue A; A addresses; NXDOMAIN with the SOA) for all %d questions on every server over UDP and TCP %s, and %d answers sampled during it were checked the same way",
		rep.before, when, rep.checked)
	if rep.wrong == 0 {
		fmt.Fprintln(w, ": all correct.")
	} else {
		fmt.Fprintf(w, ": %d WRONG (see the errors on stderr).\n", rep.wrong)
	}
	if rep.has(nameNSD) {
		fmt.Fprintln(w, "NSD's answers are larger (response bytes: "+strings.Join(rep.servers, " / ")+"): without `minimal-responses` it adds the zone's NS to the authority section, and with it, it drops the SRV glue.")
	}
	if lost := rep.lost(); len(lost) > 0 {
		fmt.Fprintf(w, "Queries lost (each holds one of the outstanding slots until dnsperf's %v timeout): %s.\n", rep.cfg.Timeout, strings.Join(lost, ", "))
	}
	if n := rep.clientBound(); n > 0 {
		fmt.Fprintf(w, "In %d full-rate runs dnsperf used over 95%% of its CPU, so those rates may be limits of the load generator rather than of the server.\n", n)
	}
	if m := rep.misses(); len(m) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Missed Must targets:")
		for _, s := range m {
			fmt.Fprintln(w, "- "+s)
		}
	}
}

// latencyRate names the rate of the latency runs in a column head.
func (rep *report) latencyRate() string {
	if rep.cfg.LatencyQPS > 0 {
		return thousands(rep.cfg.LatencyQPS) + "/s"
	}
	return "½"
}

// measuredRows are the rows on which beacon was measured: all of them
// unless the run was cut short.
func (rep *report) measuredRows() []row {
	var out []row
	for _, r := range rows() {
		if o := rep.results[nameBeacon][r]; o != nil && o.Best != nil {
			out = append(out, r)
		}
	}
	return out
}

// lost lists the reported full-rate runs in which dnsperf lost queries.
func (rep *report) lost() []string {
	var out []string
	for _, r := range rep.measuredRows() {
		for _, s := range rep.servers {
			o := rep.results[s][r]
			switch {
			case o == nil || o.Best == nil || o.Best.Lost == 0:
			case r.Proto == "udp":
				out = append(out, fmt.Sprintf("%s %s %d (the server's socket dropped %d for want of buffer space)",
					s, rowLabel(r), o.Best.Lost, o.Best.ServerDrops))
			default:
				out = append(out, fmt.Sprintf("%s %s %d", s, rowLabel(r), o.Best.Lost))
			}
		}
	}
	return out
}

// clientBound counts the best full-rate runs in which dnsperf had little
// CPU to spare.
func (rep *report) clientBound() int {
	n := 0
	for _, byRow := range rep.results {
		for _, o := range byRow {
			if o.Best != nil && o.Best.share(o.Best.ClientCPU) > 0.95 {
				n++
			}
		}
	}
	return n
}

func tableHead(w io.Writer, head []string, left int) {
	tableRow(w, head)
	seps := make([]string, len(head))
	for i := range seps {
		seps[i] = "--:"
		if i < left {
			seps[i] = "---"
		}
	}
	tableRow(w, seps)
}

func tableRow(w io.Writer, cells []string) {
	fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
}

func qps(o *outcome) string {
	if o == nil || o.Best == nil {
		return "–"
	}
	return fmt.Sprintf("%s (%.0f%%)", thousands(int(o.Best.QPS+0.5)), 100*o.Best.share(o.Best.ServerCPU))
}

// thousands writes n with comma separators: 148,512.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
