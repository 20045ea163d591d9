package beaconbin

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestCleanEnv(t *testing.T) {
	t.Setenv("BEACON_DNS_ADDR", "127.0.0.1:1")
	t.Setenv("CONSUL_HTTP_ADDR", "127.0.0.1:2")
	t.Setenv("BEACONX", "kept")
	env := CleanEnv()
	for _, kv := range env {
		if strings.HasPrefix(kv, "BEACON_") || strings.HasPrefix(kv, "CONSUL_HTTP_") {
			t.Errorf("CleanEnv kept %s", kv)
		}
	}
	if !slices.Contains(env, "BEACONX=kept") {
		t.Error("CleanEnv dropped an unrelated variable")
	}
}

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, err := Build(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "beacon") {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
}
