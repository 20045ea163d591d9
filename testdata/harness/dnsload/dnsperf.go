package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// perfResult is what one dnsperf run reports.
type perfResult struct {
	Sent, Completed, Lost int
	Rcodes                map[string]int // response code name → count
	RequestSize           int            // average bytes
	ResponseSize          int            // average bytes
	QPS                   float64
	RunTime               time.Duration // as dnsperf measured it
	Wall                  time.Duration // dnsperf's whole life, with start-up and the wait for late replies
	AvgLatency            time.Duration
	MinLatency            time.Duration
	MaxLatency            time.Duration
	StdDevLatency         time.Duration
	Latencies             []time.Duration // per answered query, with -v only
	TimedOut              int             // "T" lines, with -v only
	ClientCPU             time.Duration   // CPU time dnsperf used
	ServerCPU             time.Duration   // CPU time the server used, set by the caller
	ServerDrops           int64           // UDP datagrams the server's socket dropped, set by the caller
	OtherDrops            int64           // UDP datagrams other sockets dropped (dnsperf's among them)
}

// share is the fraction of one CPU that cpu is over dnsperf's life (the
// span over which the caller measures the server's CPU time too).
func (r *perfResult) share(cpu time.Duration) float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(cpu) / float64(r.Wall)
}

// perCPUSecond is the queries answered per second of server CPU time.
func (r *perfResult) perCPUSecond() float64 {
	if r.ServerCPU <= 0 {
		return 0
	}
	return float64(r.Completed) / r.ServerCPU.Seconds()
}

// perfArgs are the dnsperf flags of one run.
type perfArgs struct {
	Server   string // IP address
	Port     int
	File     string
	TCP      bool
	Clients  int // -c
	Queries  int // -q: outstanding queries
	Duration time.Duration
	Timeout  time.Duration // -t: when a query counts as lost
	MaxQPS   int           // -Q, 0 for none
	Verbose  bool          // -v: one line per query with its latency
}

func (a perfArgs) argv() []string {
	argv := []string{"-s", a.Server, "-p", strconv.Itoa(a.Port), "-d", a.File,
		"-c", strconv.Itoa(a.Clients), "-q", strconv.Itoa(a.Queries),
		"-l", strconv.FormatFloat(a.Duration.Seconds(), 'f', -1, 64)}
	if a.Timeout > 0 {
		argv = append(argv, "-t", strconv.FormatFloat(a.Timeout.Seconds(), 'f', -1, 64))
	}
	if a.TCP {
		argv = append(argv, "-m", "tcp")
	}
	if a.MaxQPS > 0 {
		argv = append(argv, "-Q", strconv.Itoa(a.MaxQPS))
	}
	if a.Verbose {
		argv = append(argv, "-v")
	}
	return argv
}

// dnsperfPath finds dnsperf or says how to install it.
func dnsperfPath() (string, error) {
	p, err := exec.LookPath("dnsperf")
	if err != nil {
		return "", errors.New("dnsperf not found; install it with: apt-get install -y dnsperf")
	}
	return p, nil
}

// runDNSPerf runs dnsperf pinned to cpu with its report going to outFile
// (so that reading per-query lines does not compete with dnsperf for its
// CPU), and parses the report. dnsperf gets its time limit plus its query
// timeout (5 s by default) and a margin before it is killed.
func runDNSPerf(ctx context.Context, bin string, cpu, nice int, a perfArgs, outFile string) (*perfResult, error) {
	ctx, cancel := context.WithTimeout(ctx, a.Duration+max(a.Timeout, 5*time.Second)+10*time.Second)
	defer cancel()
	out, err := os.Create(outFile)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	argv := pinned(cpu, nice, append([]string{bin}, a.argv()...))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = out, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("dnsperf stopped: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("dnsperf %s: %w: %s", strings.Join(a.argv(), " "), err, strings.TrimSpace(stderr.String()))
	}
	cpuUsed := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	res, err := parseDNSPerf(out)
	if err != nil {
		return nil, fmt.Errorf("dnsperf report %s: %w", outFile, err)
	}
	res.ClientCPU, res.Wall = cpuUsed, wall
	return res, nil
}

// parseDNSPerf reads dnsperf's report: the "Statistics:" block and, with
// -v, the "> RCODE name TYPE seconds" line of each query ("> T name TYPE"
// for one that timed out). The connection statistics of TCP runs come
// after the query statistics and are skipped.
func parseDNSPerf(r io.Reader) (*perfResult, error) {
	res := &perfResult{Rcodes: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	seen := map[string]bool{}
	inConn := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "> ") {
			parseVerbose(res, line)
			continue
		}
		if line == "Connection Statistics:" {
			inConn = true
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok || inConn {
			continue
		}
		val = strings.TrimSpace(val)
		var err error
		switch key {
		case "Queries sent":
			res.Sent, err = leadingInt(val)
		case "Queries completed":
			res.Completed, err = leadingInt(val)
		case "Queries lost":
			res.Lost, err = leadingInt(val)
		case "Response codes":
			err = parseRcodes(val, res.Rcodes)
		case "Average packet size":
			_, err = fmt.Sscanf(val, "request %d, response %d", &res.RequestSize, &res.ResponseSize)
		case "Queries per second":
			res.QPS, err = strconv.ParseFloat(val, 64)
		case "Run time (s)":
			var rt float64
			rt, err = strconv.ParseFloat(val, 64)
			res.RunTime = seconds(rt)
		case "Average Latency (s)":
			var avg, lo, hi float64
			_, err = fmt.Sscanf(val, "%g (min %g, max %g)", &avg, &lo, &hi)
			res.AvgLatency, res.MinLatency, res.MaxLatency = seconds(avg), seconds(lo), seconds(hi)
		case "Latency StdDev (s)":
			var sd float64
			sd, err = strconv.ParseFloat(val, 64)
			res.StdDevLatency = seconds(sd)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		seen[key] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, k := range []string{"Queries sent", "Queries completed", "Queries lost", "Queries per second", "Run time (s)", "Average Latency (s)"} {
		if !seen[k] {
			return nil, fmt.Errorf("no %q line in the report", k)
		}
	}
	return res, nil
}

// parseVerbose records the latency of one "-v" line.
func parseVerbose(res *perfResult, line string) {
	f := strings.Fields(line)
	if len(f) >= 2 && f[1] == "T" {
		res.TimedOut++
		return
	}
	if len(f) < 5 {
		return
	}
	if s, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
		res.Latencies = append(res.Latencies, seconds(s))
	}
}

// parseRcodes reads "NOERROR 10 (33.33%), NXDOMAIN 10 (33.33%)".
func parseRcodes(val string, into map[string]int) error {
	for part := range strings.SplitSeq(val, ",") {
		f := strings.Fields(part)
		if len(f) < 2 {
			return fmt.Errorf("response code %q", part)
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return err
		}
		into[f[0]] += n
	}
	return nil
}

// leadingInt reads "74185 (100.00%)" as 74185.
func leadingInt(s string) (int, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, errors.New("empty")
	}
	return strconv.Atoi(f[0])
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// percentile is the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method, or 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}
