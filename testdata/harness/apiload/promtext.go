package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Metrics read from beacon's /metrics.
const (
	// commitCount counts bolt commits; each is one durable sync of the
	// database (see README: a bbolt commit issues fdatasync twice, for
	// the pages and then the meta page).
	commitCount = "beacon_store_commit_duration_seconds_count"
	heapInuse   = "go_memstats_heap_inuse_bytes"
	rssMetric   = "process_resident_memory_bytes"
)

// metricValue returns the value of the unlabelled sample called name in a
// Prometheus text exposition. Comment lines, other samples and labelled
// samples of the same name are skipped; a missing sample is an error, so
// a renamed metric cannot silently read as zero.
func metricValue(text []byte, name string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		fields := strings.Fields(rest)
		// A sample is "name value [timestamp]".
		if len(fields) < 1 || len(fields) > 2 {
			return 0, fmt.Errorf("metric %s: malformed sample %q", name, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: %w", name, err)
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading metrics: %w", err)
	}
	return 0, fmt.Errorf("metric %s not found in /metrics", name)
}
