package main

import (
	"os"
	"strings"
	"testing"
)

func TestListenAddr(t *testing.T) {
	// testdata/beacon.log is the log of a real `beacon serve` on port 0.
	fixture, err := os.ReadFile("testdata/beacon.log")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, line := range strings.Split(string(fixture), "\n") {
		if addr, ok := listenAddr(line); ok {
			found = append(found, addr)
		}
	}
	if len(found) != 1 || found[0] != "127.0.0.1:44589" {
		t.Fatalf("addresses found = %q, want only the HTTP one, 127.0.0.1:44589", found)
	}
	for _, line := range []string{
		`msg="http listening"`,
		`msg="http listening" addr= scheme=http`,
		`msg="dns listening" addr=127.0.0.1:1`,
	} {
		if addr, ok := listenAddr(line); ok {
			t.Errorf("listenAddr(%q) = %q, want none", line, addr)
		}
	}
}
