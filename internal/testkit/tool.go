package testkit

import (
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tool returns the path of an installed program that a test needs, looking
// beyond PATH in the sbin directories (daemons live there and a user's PATH
// may lack them) and in Go's bin directory (where `go install` puts a
// program). A missing program skips the test on a developer's machine but
// fails it under CI=true: CI installs every such program, so a missing one
// means the install broke, and a skip would let the run pass untested.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := LookTool(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, but CI=true and .ci/run installs it", name)
	}
	t.Skipf("%s is not installed (.ci/run installs it)", name)
	return ""
}

// LookTool finds name as Tool does and returns exec.ErrNotFound (wrapped)
// when it is nowhere.
func LookTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	dirs := []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for _, gopath := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(gopath, "bin"))
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if fi, statErr := os.Stat(p); statErr == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", err
}
