package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// report holds the figures of one soak run and judges them.
type report struct {
	Duration time.Duration
	Server   string // how the server was run or reached

	// DNS load.
	Answered, Failed, Timeouts, TCPRetries, TCPReconnects int64
	P50, P99, Max                                         time.Duration
	DNSErrors                                             []string

	// Registration churn.
	Registered, Deregistered, APIErrors int64
	WriteP50, WriteP99, WriteMax        time.Duration
	APIErrorSamples                     []string
	Live                                int
	CatalogDiffs                        []string

	// Flapping backends.
	Backends     int
	Flips        int64
	FlapChanges  int64
	FlapRequired bool // long enough that the flaps must show in DNS

	// Resource use: idle before the load, under load after warm-up,
	// under load at the end, idle after.
	Before, Warm, End, After sample

	// Stop is a problem with stopping a server started here.
	Stop string
}

// problems lists why the run failed; none means it passed.
func (r *report) problems() []string {
	var p []string
	if r.Answered == 0 {
		p = append(p, "no DNS query was answered")
	}
	if r.Failed > 0 {
		p = append(p, fmt.Sprintf("%d DNS queries failed", r.Failed))
	}
	if r.APIErrors > 0 {
		p = append(p, fmt.Sprintf("%d API errors", r.APIErrors))
	}
	if n := len(r.CatalogDiffs); n > 0 {
		p = append(p, fmt.Sprintf("the catalog differs from the acknowledged writes in %d instances", n))
	}
	if r.FlapRequired && r.FlapChanges == 0 {
		p = append(p, fmt.Sprintf("backends flipped %d times but the DNS answers for flap never changed", r.Flips))
	}
	if r.Stop != "" {
		p = append(p, r.Stop)
	}
	return p
}

func (r *report) print(w io.Writer) {
	qps := float64(r.Answered+r.Failed) / r.Duration.Seconds()
	fmt.Fprintf(w, "beacon soak: %s; %s\n", r.Duration, r.Server)
	fmt.Fprintf(w, "DNS queries:  %d answered, %d failed (%d timeouts); %.0f/s\n", r.Answered, r.Failed, r.Timeouts, qps)
	fmt.Fprintf(w, "DNS over TCP: 1 in %d queries; %d truncated answers retried; %d connections closed by the server\n",
		numKinds, r.TCPRetries, r.TCPReconnects)
	fmt.Fprintf(w, "DNS latency:  p50 %s, p99 %s, max %s\n", short(r.P50), short(r.P99), short(r.Max))
	fmt.Fprintf(w, "API writes:   %d registrations, %d deregistrations (%.1f registrations/s), %d errors\n",
		r.Registered, r.Deregistered, float64(r.Registered)/r.Duration.Seconds(), r.APIErrors)
	fmt.Fprintf(w, "API latency:  p50 %s, p99 %s, max %s (each write waits for its fsync)\n",
		short(r.WriteP50), short(r.WriteP99), short(r.WriteMax))
	fmt.Fprintf(w, "Catalog:      %d churn instances live at the end, %d differences from the acknowledged writes\n",
		r.Live, len(r.CatalogDiffs))
	fmt.Fprintf(w, "Flapping:     %d backends, %d flips, %d changes of the flap answer seen over DNS\n",
		r.Backends, r.Flips, r.FlapChanges)
	fmt.Fprintf(w, "Server:       %14s %14s %14s %14s %10s\n", "before load", "after warm-up", "end of load", "after load", "growth")
	row := func(name string, get func(sample) int64, unit func(int64) string) {
		g := growth(get(r.Warm), get(r.End))
		if name == "CPU time" {
			g = "" // always grows
		}
		fmt.Fprintf(w, "  %-10s  %14s %14s %14s %14s %10s\n", name,
			unit(get(r.Before)), unit(get(r.Warm)), unit(get(r.End)), unit(get(r.After)), g)
	}
	row("RSS", func(s sample) int64 { return s.RSS }, mib)
	row("goroutines", func(s sample) int64 { return int64(s.Goroutines) }, count)
	row("open fds", func(s sample) int64 { return int64(s.FDs) }, count)
	row("CPU time", func(s sample) int64 { return int64(s.CPU / time.Millisecond) }, ms)
	fmt.Fprintf(w, "  %-10s  %14s %14s %14s\n", "CPU use", "", cpuUse(r.Before, r.Warm), cpuUse(r.Warm, r.End))
	row("beacon.db", func(s sample) int64 { return s.StoreBytes }, kib)
	for _, e := range r.DNSErrors {
		fmt.Fprintf(w, "DNS failure:  %s\n", e)
	}
	for _, e := range r.APIErrorSamples {
		fmt.Fprintf(w, "API error:    %s\n", e)
	}
	for i, d := range r.CatalogDiffs {
		if i == maxErrs {
			fmt.Fprintf(w, "API latency:  p50 %s, p99 %s, max %s (each write waits for its fsync)\n",
				short(r.WriteP50), short(r.WriteP99), short(r.WriteMax))
			fmt.Fprintf(w, "Catalog:      ... and %d more\n", len(r.CatalogDiffs)-i)
			break
		}
		fmt.Fprintf(w, "API latency:  p50 %s, p99 %s, max %s (each write waits for its fsync)\n",
			short(r.WriteP50), short(r.WriteP99), short(r.WriteMax))
		fmt.Fprintf(w, "Catalog:      %s\n", d)
	}
	if p := r.problems(); len(p) > 0 {
		fmt.Fprintf(w, "FAIL: %s\n", strings.Join(p, "; "))
		return
	}
	fmt.Fprintln(w, "PASS")
}

// growth is the change from warm-up to the end of the load, the span in
// which a leak would show.
func growth(from, to int64) string {
	if from <= 0 || to < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", 100*float64(to-from)/float64(from))
}

func mib(v int64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20))
}

func ms(v int64) string {
	if v < 0 {
		return "n/a"
	}
	return short(time.Duration(v) * time.Millisecond)
}

// cpuUse is the server's CPU use between two samples, in cores.
func cpuUse(a, b sample) string {
	if a.CPU < 0 || b.CPU < 0 || !b.At.After(a.At) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f cores", (b.CPU-a.CPU).Seconds()/b.At.Sub(a.At).Seconds())
}

func kib(v int64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d KiB", v>>10)
}

// short rounds d to three significant digits or so.
func short(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func count(v int64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprint(v)
}
