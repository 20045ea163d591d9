package main

import (
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	prev := -1
	for _, ns := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 1000, 999999, 1 << 40, 1<<63 + 12345} {
		i := bucket(ns)
		if i < prev {
			t.Errorf("bucket(%d) = %d, below the previous %d", ns, i, prev)
		}
		if top := bucketTop(i); top < ns || (i > 0 && bucketTop(i-1) >= ns) {
			t.Errorf("%d in bucket %d, whose range ends at %d (previous ends at %d)", ns, i, top, bucketTop(i-1))
		}
		if i >= len(latencyHist{}.counts) {
			t.Errorf("bucket(%d) = %d is out of range", ns, i)
		}
		prev = i
	}
}

func TestQuantile(t *testing.T) {
	var a, b latencyHist
	for i := 1; i <= 990; i++ {
		a.observe(time.Duration(i) * time.Microsecond)
	}
	for i := 0; i < 10; i++ {
		b.observe(50 * time.Millisecond)
	}
	a.merge(&b)
	if a.n != 1000 || a.max != 50*time.Millisecond {
		t.Fatalf("n %d max %s", a.n, a.max)
	}
	tests := []struct {
		q      float64
		lo, hi time.Duration
	}{
		{0.5, 500 * time.Microsecond, 520 * time.Microsecond},
		{0.99, 990 * time.Microsecond, 1025 * time.Microsecond},
		{0.995, 50 * time.Millisecond, 50 * time.Millisecond},
		{1, 50 * time.Millisecond, 50 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := a.quantile(tc.q); got < tc.lo || got > tc.hi {
			t.Errorf("quantile(%v) = %s, want %s to %s", tc.q, got, tc.lo, tc.hi)
		}
	}
	if got := (&latencyHist{}).quantile(0.99); got != 0 {
		t.Errorf("empty quantile %s", got)
	}
}
