package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStore(t *testing.T) {
	tests := []struct {
		in   string
		want storeTarget
		err  string // substring of the error; "" for none
	}{
		{"bolt", storeTarget{}, ""},
		{"etcd://127.0.0.1:2379", storeTarget{Etcd: true, Endpoints: []string{"127.0.0.1:2379"}, Prefix: "/beacon"}, ""},
		{"etcd://a:1,b:2,[::1]:3/reg/prod/", storeTarget{Etcd: true, Endpoints: []string{"a:1", "b:2", "[::1]:3"}, Prefix: "/reg/prod"}, ""},
		{"etcd://a:1/", storeTarget{Etcd: true, Endpoints: []string{"a:1"}, Prefix: "/beacon"}, ""},
		{"consul://a:1", storeTarget{}, "neither bolt nor etcd://"},
		{"etcd://", storeTarget{}, "no etcd endpoint"},
		{"etcd://a", storeTarget{}, `endpoint "a" is not HOST:PORT`},
		{"etcd://a:0", storeTarget{}, "port from 1 to 65535"},
		{"etcd://a:1,,b:2", storeTarget{}, `endpoint "" is not HOST:PORT`},
		{"etcd://a:1/x//y", storeTarget{}, "between single slashes"},
		{"etcd://a:1/x y", storeTarget{}, "between single slashes"},
		{"etcd://a:1/../x", storeTarget{}, "between single slashes"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseStore(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestServeEtcdFlags(t *testing.T) {
	cfg, err := parseServeTest(nil, map[string]string{"BEACON_STORE": "etcd://127.0.0.1:2379/b", "BEACON_ETCD_TIMEOUT": "2s", "BEACON_NODE_TTL": "3s"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.StoreTarget.Etcd || cfg.StoreTarget.Prefix != "/b" || cfg.EtcdTimeout != 2*time.Second || cfg.NodeTTL != 3*time.Second {
		t.Errorf("from the environment: %+v", cfg)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-store", "mysql"}, []string{"-store", "mysql"}},
		{[]string{"-store", "etcd://a:1", "-etcd-timeout", "0s"}, []string{"-etcd-timeout"}},
		{[]string{"-store", "etcd://a:1", "-node-ttl", "1s"}, []string{"-node-ttl", "1s", "2s"}},
		{[]string{"-store", "etcd://a:1", "-node-ttl", "2500ms"}, []string{"-node-ttl", "whole seconds"}},
		{[]string{"-etcd-cacert", "ca.pem"}, []string{"-store etcd://"}},
		{[]string{"-store", "etcd://a:1", "-etcd-cert", "c.pem"}, []string{"-etcd-cacert", "go together"}},
		{[]string{"-store", "etcd://a:1", "-etcd-cacert", "/nonexistent/ca.pem"}, []string{"/nonexistent/ca.pem"}},
	} {
		_, err := parseServeTest(tc.args, nil)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", tc.args, err, w)
			}
		}
	}
}

// FuzzParseStore: whatever is given as -store, the result is BoltDB, or
// etcd endpoints with ports and a clean prefix that read back the same,
// or an error; never a panic.
func FuzzParseStore(f *testing.F) {
	for _, s := range []string{"bolt", "etcd://127.0.0.1:2379", "etcd://a:1,b:2,[::1]:3/x/y/", "etcd://a:1//", "etcd://:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseStore(s)
		if err != nil || !got.Etcd {
			return
		}
		if len(got.Endpoints) == 0 || !strings.HasPrefix(got.Prefix, "/") || strings.HasSuffix(got.Prefix, "/") || strings.Contains(got.Prefix, "//") {
			t.Fatalf("%q gave %+v", s, got)
		}
		again, err := parseStore("etcd://" + strings.Join(got.Endpoints, ",") + got.Prefix)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("%q gave %+v, which reads back as %+v, %v", s, got, again, err)
		}
	})
}
