package store

import (
	"strings"
	"testing"
)

// FuzzParseKey: any key under the prefix is either not the registry's or
// splits into IDs that build the same key back; never a panic.
func FuzzParseKey(f *testing.F) {
	for _, k := range []string{"i/web1", "c/web1/chk", "b/web1/chk", "gone/web", "n/b1", "n/", "i/", "c/x", "c//y", "gone/", "other"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		kind, id, check := parseKey(k)
		var back string
		switch kind {
		case keyOther:
			return
		case keyDef:
			back = defKey(id)
		case keyStatus:
			back = statusKey(id, check)
		case keyBeat:
			back = beatKey(id, check)
		case keyGone:
			back = goneKey(id)
		case keyMember:
			back = memberKey(id)
		}
		if back != k || id == "" || (kind == keyStatus || kind == keyBeat) && (check == "" || strings.Contains(id, "/")) {
			t.Fatalf("%q parsed as %v %q %q, which builds %q", k, kind, id, check, back)
		}
	})
}
