package main

import (
	"slices"
	"testing"
	"time"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, v := range ms {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func oneTo(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(n-i) * time.Millisecond // descending: summarize must sort
	}
	return out
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want summary
	}{
		{"empty", nil, summary{}},
		{"one", durations(7), summary{N: 1, P50: 7 * ms, P99: 7 * ms, Max: 7 * ms}},
		{"two", durations(9, 1), summary{N: 2, P50: 1 * ms, P99: 9 * ms, Max: 9 * ms}},
		{"ten", oneTo(10), summary{N: 10, P50: 5 * ms, P99: 10 * ms, Max: 10 * ms}},
		{"hundred", oneTo(100), summary{N: 100, P50: 50 * ms, P99: 99 * ms, Max: 100 * ms}},
		{"thousand", oneTo(1000), summary{N: 1000, P50: 500 * ms, P99: 990 * ms, Max: 1000 * ms}},
		{"outlier above p99", append(durations(slices.Repeat([]int{1}, 199)...), time.Second), summary{N: 200, P50: ms, P99: ms, Max: time.Second}},
		{"outliers reach p99", append(durations(slices.Repeat([]int{1}, 197)...), time.Second, time.Second, time.Second), summary{N: 200, P50: ms, P99: time.Second, Max: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.in)
			if got := summarize(tt.in); got != tt.want {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
			if !slices.Equal(before, tt.in) {
				t.Error("summarize reordered its input")
			}
		})
	}
}

func TestMedianAndRate(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{4, 1}, 2.5}, {[]float64{5, 1, 3}, 3},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := rate(500, 250*time.Millisecond); got != 2000 {
		t.Errorf("rate = %v, want 2000", got)
	}
	if got := rate(5, 0); got != 0 {
		t.Errorf("rate over no time = %v, want 0", got)
	}
}
