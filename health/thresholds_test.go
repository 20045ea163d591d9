package health

import (
	"strings"
	"testing"

	"github.com/beacon-dns/beacon/store"
)

// TestThresholds replays sequences of results (P passing, W warning, C
// critical) through the counters and compares which were reported (upper
// case) and which held back (lower case) with Consul's StatusHandler.
func TestThresholds(t *testing.T) {
	tests := []struct {
		name                    string
		successBefore, failures int
		in, want                string
	}{
		{"no thresholds report everything", 0, 0, "PCWPC", "PCWPC"},
		{"1 is the same as 0", 1, 1, "PCWPC", "PCWPC"},
		{"first result reported at once", 3, 3, "P", "P"},
		{"first failure reported at once", 3, 3, "C", "C"},
		{"failures before critical", 0, 3, "PCCCC", "PccCC"},
		{"success resets failures", 0, 2, "PCPCPCC", "PcPcPcC"},
		{"warning counts as success", 0, 2, "PCWCC", "PcWcC"},
		{"success before passing", 3, 0, "CPPPP", "CppPP"},
		{"failure resets successes", 2, 0, "CPCPPCP", "CpCpPCp"},
		{"both", 2, 2, "PCCPPCPP", "PcCpPcpP"},
		{"warning needs successes too", 2, 0, "CWW", "CwW"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th := newThresholds(&store.Check{SuccessBeforePassing: tc.successBefore, FailuresBeforeCritical: tc.failures})
			var got strings.Builder
			for _, r := range tc.in {
				s := map[rune]store.Status{'P': store.Passing, 'W': store.Warning, 'C': store.Critical}[r]
				if th.report(s) {
					got.WriteRune(r)
				} else {
					got.WriteString(strings.ToLower(string(r)))
				}
			}
			if got.String() != tc.want {
				t.Errorf("%s → %s, want %s", tc.in, got.String(), tc.want)
			}
		})
	}
}
