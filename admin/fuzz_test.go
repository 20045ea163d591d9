package admin

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRegister feeds bodies to PUT /v1/agent/service/register: beacon
// must not panic, must answer 200 or a one-line 4xx, a 200 must leave the
// instance in the snapshot as decoded, and a 4xx must change nothing.
// Seeds are in testdata/fuzz/FuzzRegister.
func FuzzRegister(f *testing.F) {
	st := openStore(f, f.TempDir())
	h := New(Config{Logger: quietLogger()}, st).Handler()
	f.Add([]byte(`{"Name":"web","Port":80}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		before := st.Snapshot()
		req := httptest.NewRequest("PUT", "/v1/agent/service/register", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == 200:
			v, err := parseJSON(body)
			if err != nil {
				t.Fatalf("200 for a body that does not parse: %v", err)
			}
			d, err := decodeRegistration(v)
			if err != nil {
				t.Fatalf("200 for a body that does not decode: %v", err)
			}
			id := d.reg.ID
			if id == "" {
				id = strings.ToLower(d.reg.Name)
			}
			in := st.Snapshot().Instance(id)
			if in == nil {
				t.Fatalf("200 but instance %q is not in the snapshot", id)
			}
			if in.Name != strings.ToLower(d.reg.Name) || in.Port != d.reg.Port {
				t.Fatalf("stored %q:%d, registered %q:%d", in.Name, in.Port, d.reg.Name, d.reg.Port)
			}
			if in.NoAddress != (d.reg.Address == "") || in.EnableTagOverride != d.reg.EnableTagOverride ||
				len(in.TaggedAddresses) != len(d.reg.TaggedAddresses) {
				t.Fatalf("stored %+v for %+v", in, d.reg)
			}
		case rec.Code >= 400 && rec.Code < 500:
			b := rec.Body.String()
			if strings.Count(b, "\n") != 1 || !strings.HasSuffix(b, "\n") {
				t.Fatalf("%d body is not one line: %q", rec.Code, b)
			}
			if after := st.Snapshot(); after.Index() != before.Index() {
				t.Fatalf("%d but the index moved from %d to %d", rec.Code, before.Index(), after.Index())
			}
		default:
			t.Fatalf("answered %d %q", rec.Code, rec.Body.String())
		}
	})
}

// FuzzFilter compiles ?filter= expressions and evaluates them: no panic,
// and any refusal is a 400 that starts with "filter: ". Seeds are in
// testdata/fuzz/FuzzFilter.
func FuzzFilter(f *testing.F) {
	f.Add(`Service.Tags contains "v1" and not (Checks.Status != passing or Service.Meta["k"] matches "^a")`)
	entry := entryDatum(serviceEntryJSON{
		Node:    nodeJSON{Node: "n", Meta: map[string]string{}, TaggedAddresses: map[string]string{}},
		Service: nodeServiceJSON{serviceJSON: serviceJSON{ID: "a", Service: "s", Tags: []string{"v1"}, Meta: map[string]string{"k": "abc"}, Port: 80}},
		Checks:  []checkJSON{{CheckID: "c", Status: "passing", ServiceTags: []string{}}},
	})
	f.Fuzz(func(t *testing.T, expr string) {
		n, err := compileFilter(expr, entrySchema)
		if err != nil {
			if codeOf(err) != 400 || !strings.HasPrefix(err.Error(), "filter: ") {
				t.Fatalf("refusal %q (%d)", err, codeOf(err))
			}
			return
		}
		if n != nil {
			n.eval(entry)
		}
	})
}
