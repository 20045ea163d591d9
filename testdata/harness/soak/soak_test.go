package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/beacon-dns/beacon/internal/testkit"
)

// TestSoakShortRun runs the soak command's load for two seconds against a
// beacon it starts, and checks that it counted real work and found nothing
// wrong; the real soak runs for minutes (README, "Soak").
func TestSoakShortRun(t *testing.T) {
	t.Parallel()
	cfg, err := parseFlags([]string{"-duration", "2s", "-warmup", "500ms", "-beacon", testkit.PlainBinary(t),
		"-dns-qps", "400", "-churn-rate", "50", "-churn-live", "40", "-flap-every", "1s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rep, err := runSoak(t.Context(), cfg, &log)
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, log.String())
	}
	var out bytes.Buffer
	rep.print(&out)
	t.Log("\n" + out.String())
	if p := rep.problems(); len(p) > 0 {
		t.Errorf("soak found problems: %s", strings.Join(p, "; "))
	}
	if rep.Answered < 250 {
		t.Errorf("only %d DNS queries answered in 2s at 400/s", rep.Answered)
	}
	if rep.Registered < 50 || rep.Deregistered < 20 {
		t.Errorf("churn did %d registrations and %d deregistrations in 2s at 50/s", rep.Registered, rep.Deregistered)
	}
	if rep.Flips < 4 {
		t.Errorf("backends flipped %d times in 2s at one flip per 250ms", rep.Flips)
	}
	for name, s := range map[string]sample{"before": rep.Before, "warm": rep.Warm, "end": rep.End, "after": rep.After} {
		if s.RSS <= 0 || s.Goroutines <= 0 || s.FDs <= 0 || s.StoreBytes <= 0 {
			t.Errorf("%s sample incomplete: %+v", name, s)
		}
	}
	if !strings.HasPrefix(out.String(), "beacon soak: 2s") || !strings.HasSuffix(out.String(), "PASS\n") {
		t.Errorf("report does not start with the run and end with its verdict:\n%s", out.String())
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Duration != 5*time.Minute || cfg.ChurnRate != 50 || cfg.Domain != "service.local" {
		t.Errorf("defaults: %+v", cfg)
	}
	bad := [][]string{
		{"-duration", "10ms"},
		{"-dns-workers", "0"},
		{"-dns-qps", "2", "-dns-workers", "4"},
		{"-churn-rate", "0"},
		{"-backends", "-1"},
		{"-addr", "127.0.0.1:8500"},
		{"-dns-addr", "127.0.0.1:8600"},
		{"extra"},
		{"-no-such-flag"},
	}
	for _, args := range bad {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}
