package main

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestTarget(t *testing.T) {
	ds := newDataset("Service.Local", 2, 3)
	if ds.Domain != "service.local." {
		t.Fatalf("domain %q, want service.local.", ds.Domain)
	}
	in := ds.Services[1].Instances[2]
	if got, want := in.Addr.String(), "10.0.0.6"; got != want {
		t.Errorf("address %s, want %s", got, want)
	}
	if got, want := in.target(ds.Domain), "0a000006.addr.service.local."; got != want {
		t.Errorf("target %s, want %s", got, want)
	}
}

func TestQueryFiles(t *testing.T) {
	ds := newDataset("service.local", 100, 3)
	registered := map[string]bool{}
	for _, s := range ds.Services {
		registered[ds.fqdn(s.Name)] = true
	}
	paths, err := writeQueryFiles(t.TempDir(), ds)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind       string
		qtype      string
		registered bool
	}{
		{kindSRV, "SRV", true},
		{kindA, "A", true},
		{kindNX, "A", false},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			f, err := os.Open(paths[tc.kind])
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			seen := map[string]bool{}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				fields := strings.Fields(sc.Text())
				if len(fields) != 2 {
					t.Fatalf("line %q: want \"name TYPE\"", sc.Text())
				}
				name, qtype := fields[0], fields[1]
				if qtype != tc.qtype {
					t.Errorf("line %q: type %s, want %s", sc.Text(), qtype, tc.qtype)
				}
				if _, ok := dns.IsDomainName(name); !ok || !dns.IsFqdn(name) || !dns.IsSubDomain(ds.Domain, name) {
					t.Errorf("line %q: not a fully qualified name in %s", sc.Text(), ds.Domain)
				}
				if registered[name] != tc.registered {
					t.Errorf("line %q: registered %v, want %v", sc.Text(), registered[name], tc.registered)
				}
				if seen[name] {
					t.Errorf("line %q: repeated", sc.Text())
				}
				seen[name] = true
			}
			if len(seen) != 100 {
				t.Errorf("%d distinct names, want one per service (100)", len(seen))
			}
		})
	}
}
