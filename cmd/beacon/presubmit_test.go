package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPresubmit holds the whole tree, the modules under testdata
// included, to the house rules that a formatter does
// not: file names without hyphens, and imports in groups (standard library
// first, then third-party and beacon's own, never mixed in one group).
func TestPresubmit(t *testing.T) {
	top := filepath.Join("..", "..")
	// The modules under testdata (the harnesses, the CoreDNS build) are
	// code too.
	nested, err := filepath.Glob(filepath.Join(top, "testdata", "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	roots := []string{top}
	for _, m := range nested {
		roots = append(roots, filepath.Dir(m))
	}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") {
				return nil
			}
			rel, _ := filepath.Rel(top, path)
			if strings.Contains(d.Name(), "-") {
				t.Errorf("%s: file names use underscores, not hyphens", rel)
			}
			checkImportGroups(t, rel, path)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func checkImportGroups(t *testing.T, rel, path string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ImportsOnly)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	kind := func(p string) string {
		switch {
		case strings.HasPrefix(p, "github.com/beacon-dns/beacon"):
			return "beacon"
		case !strings.Contains(strings.SplitN(p, "/", 2)[0], "."):
			return "std"
		}
		return "third-party"
	}
	prevLine, group, groups := -1, "", 0
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		line := fset.Position(imp.Pos()).Line
		k := kind(p)
		if line != prevLine+1 {
			groups++
			if groups > 1 && k == "std" {
				t.Errorf("%s: standard library import %q belongs in the first group", rel, p)
			}
		} else if k != group {
			t.Errorf("%s: import %q (%s) shares a group with %s imports; separate groups with a blank line", rel, p, k, group)
		}
		prevLine, group = line, k
	}
}
