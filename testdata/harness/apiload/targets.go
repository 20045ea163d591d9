package main

import (
	"fmt"
	"time"
)

// The HTTP API's performance targets (README "Performance") and the peer
// figures measured on this machine.
const (
	targetOneClient    = 1000 // durable registrations/s with 1 client
	targetManyClients  = 5000 // with manyClients
	manyClients        = 64
	targetRSS          = 250e6 // bytes with targetInstances registered
	targetInstances    = 100_000
	targetWatchersP99  = 20 * time.Millisecond
	peerRegistrations  = "250–325/s"
	peerGrowth         = "slowing: ~5 min to reach 15,000"
	peerRSS            = "788 MB"
	peerWatchers       = "p99 58 ms"
	peerFsync          = "≈ 0.15–0.25 ms"
	verdictPass        = "pass"
	verdictFail        = "**FAIL**"
	verdictNotMeasured = "not measured"
)

// results is everything one run measured; absent phases stay nil.
type results struct {
	Env        environment
	Fsync      *fsyncResult
	Throughput []throughputRow
	Growth     *growthResult
	Watch      []watchRound
	Floor      []watchRound // the same rounds against the floor server
}

// floorLabel names the floor server's rounds.
const floorLabel = "reference: net/http answering bytes encoded once per change, no beacon"

// verdict is one target checked against a measurement.
type verdict struct {
	What, Got, Target, Result, Peer string
}

func passFail(ok bool) string {
	if ok {
		return verdictPass
	}
	return verdictFail
}

// verdicts checks every target, in the order of the summary table.
func (r *results) verdicts() []verdict {
	var out []verdict
	for _, want := range []struct {
		clients int
		target  float64
	}{{1, targetOneClient}, {8, 0}, {manyClients, targetManyClients}} {
		v := verdict{What: fmt.Sprintf("durable registrations/s, %d client%s", want.clients, plural(want.clients)),
			Target: "—", Result: "", Peer: peerRegistrations, Got: "—"}
		if want.target > 0 {
			v.Target = "≥ " + thousands(want.target)
			v.Result = verdictNotMeasured
		}
		for _, row := range r.Throughput {
			if row.Clients != want.clients {
				continue
			}
			got := rate(row.Res.N, row.Res.Elapsed)
			v.Got = fmt.Sprintf("%s (p50 %s, p99 %s; %.3f fsync'd commits/registration)", thousands(got), ms(row.Res.Lat.P50), ms(row.Res.Lat.P99), row.CommitsPerReg())
			if want.target > 0 {
				v.Result = passFail(got >= want.target)
			}
		}
		out = append(out, v)
	}
	out = append(out, r.growthVerdicts()...)
	out = append(out, r.watchVerdicts()...)
	if f := r.Fsync; f != nil {
		out = append(out, verdict{What: fmt.Sprintf("write + fdatasync of 4 KiB on the data dir's disk (median of %d)", f.N),
			Got: ms(f.Lat.P50), Target: "—", Peer: peerFsync})
	}
	return out
}

func (r *results) growthVerdicts() []verdict {
	flat := verdict{What: fmt.Sprintf("registrations/s per step, 0 → %s instances", thousands(targetInstances)),
		Got: "—", Target: fmt.Sprintf("flat: every step's rate and CPU/registration within %.0f%% of the median step's", flatTolerance*100),
		Result: verdictNotMeasured, Peer: peerGrowth}
	mem := verdict{What: fmt.Sprintf("RSS with %s instances", thousands(targetInstances)), Got: "—",
		Target: fmt.Sprintf("< %.0f MB", targetRSS/1e6), Result: verdictNotMeasured, Peer: peerRSS}
	g := r.Growth
	if g == nil {
		return []verdict{flat, mem}
	}
	if g.Target != targetInstances {
		flat.What = fmt.Sprintf("registrations/s per step, 0 → %s instances (the target is for %s)", thousands(float64(g.Target)), thousands(targetInstances))
		mem.What = fmt.Sprintf("RSS with %s instances (the target is for %s)", thousands(float64(g.Target)), thousands(targetInstances))
	}
	rates := g.Rates()
	if len(rates) > 0 {
		ok, ratio := g.Flat()
		lo, hi := minMax(rates)
		flat.Got = fmt.Sprintf("%s–%s/s over %d steps (last/first %.2f)", thousands(lo), thousands(hi), len(rates), ratio)
		if cpu := g.CPUs(); cpu != nil {
			clo, chi := minMax(cpu)
			flat.Got += fmt.Sprintf("; beacon CPU %.0f–%.0f µs/registration (first %.0f, last %.0f)",
				clo/1e3, chi/1e3, cpu[0]/1e3, cpu[len(cpu)-1]/1e3)
		}
		flat.Result = passFail(ok && g.Complete() && g.Target >= targetInstances)
	}
	if g.Mem.RSS > 0 {
		mem.Got = fmt.Sprintf("%.0f MB (anon %.0f, file %.0f; Go heap in use %.0f)", mb(g.Mem.RSS), mb(g.Mem.Anon), mb(g.Mem.File), mb(uint64(g.Heap)))
		mem.Result = passFail(g.Complete() && g.Target >= targetInstances && float64(g.Mem.RSS) < targetRSS)
	}
	if !g.Complete() {
		flat.Got += fmt.Sprintf("; only %s of %s registered", thousands(float64(g.Res.N)), thousands(float64(g.Target)))
		mem.Got += fmt.Sprintf(" at %s instances", thousands(float64(g.Res.N)))
	}
	return []verdict{flat, mem}
}

func (r *results) watchVerdicts() []verdict {
	if len(r.Watch) == 0 {
		return []verdict{{What: "1,000 blocked watchers answered after one registration", Got: "—",
			Target: "p99 ≤ " + ms(targetWatchersP99), Result: verdictNotMeasured, Peer: peerWatchers}}
	}
	var out []verdict
	for _, w := range r.Watch {
		enough := w.Watchers >= 1000
		out = append(out, verdict{
			What: fmt.Sprintf("%s blocked watchers on `%s` (%s)", thousands(float64(w.Watchers)), w.Endpoint, w.Catalog),
			Got: fmt.Sprintf("from the registration's 200: p50 %s, p99 %s, max %s; from sending it: p99 %s",
				ms(w.Lat.P50), ms(w.Lat.P99), ms(w.Lat.Max), ms(w.FromSend.P99)),
			Target: "p99 ≤ " + ms(targetWatchersP99),
			Result: fmt.Sprintf("%s (from sending: %s)", passFail(enough && w.Lat.P99 <= targetWatchersP99),
				passFail(enough && w.FromSend.P99 <= targetWatchersP99)),
			Peer: peerWatchers,
		})
	}
	for _, w := range r.Floor {
		out = append(out, verdict{
			What: fmt.Sprintf("the same on `%s`, %s", w.Endpoint, w.Catalog),
			Got: fmt.Sprintf("from the registration's 200: p50 %s, p99 %s, max %s; from sending it: p99 %s",
				ms(w.Lat.P50), ms(w.Lat.P99), ms(w.Lat.Max), ms(w.FromSend.P99)),
			Target: "—", Result: "—", Peer: "—",
		})
	}
	return out
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
