//go:build race

package testkit

// raceEnabled reports whether this test process runs with the race
// detector, which Binary then builds into beacon as well.
const raceEnabled = true
