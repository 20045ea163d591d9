package store

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRegisterValidation(t *testing.T) {
	long := strings.Repeat("a", 64)
	manyTags := make([]string, MaxTags+1)
	for i := range manyTags {
		manyTags[i] = "t"
	}
	manyMeta := map[string]string{}
	for i := 0; i <= MaxMetaKeys; i++ {
		manyMeta["k"+strings.Repeat("x", i)] = "v"
	}
	manyChecks := make([]CheckSpec, MaxChecks+1)
	for i := range manyChecks {
		manyChecks[i] = CheckSpec{TTL: time.Second}
	}
	cases := []struct {
		name  string
		reg   Registration
		field string // "" means valid
	}{
		{"minimal", Registration{Name: "web"}, ""},
		{"upper case name", Registration{Name: "Web-1"}, ""},
		{"empty name", Registration{}, "Name"},
		{"name too long", Registration{Name: long}, "Name"},
		{"name underscore", Registration{Name: "my_web"}, "Name"},
		{"name dot", Registration{Name: "a.b"}, "Name"},
		{"name leading hyphen", Registration{Name: "-web"}, "Name"},
		{"name trailing hyphen", Registration{Name: "web-"}, "Name"},
		{"id slash", Registration{Name: "web", ID: "a/b"}, "ID"},
		{"id space", Registration{Name: "web", ID: "a b"}, "ID"},
		{"id too long", Registration{Name: "web", ID: strings.Repeat("i", MaxIDLen+1)}, "ID"},
		{"id dot", Registration{Name: "web", ID: "."}, "ID"},
		{"id dot dot", Registration{Name: "web", ID: ".."}, "ID"},
		{"id with dots", Registration{Name: "web", ID: "..."}, ""},
		{"check id dot", Registration{Name: "web", Checks: []CheckSpec{{ID: ".", TTL: time.Second}}}, "Checks[0].CheckID"},
		{"check id dot dot", Registration{Name: "web", Checks: []CheckSpec{{ID: "..", TTL: time.Second}}}, "Checks[0].CheckID"},
		{"ipv4", Registration{Name: "web", Address: "10.0.0.5"}, ""},
		{"ipv6", Registration{Name: "web", Address: "2001:db8::1"}, ""},
		{"hostname", Registration{Name: "web", Address: "db-1.example.com"}, ""},
		{"unspecified ipv4", Registration{Name: "web", Address: "0.0.0.0"}, "Address"},
		{"unspecified ipv6", Registration{Name: "web", Address: "::"}, "Address"},
		{"bad dotted quad", Registration{Name: "web", Address: "300.1.1.1"}, "Address"},
		{"short dotted quad", Registration{Name: "web", Address: "1.2.3"}, "Address"},
		{"bad ipv6", Registration{Name: "web", Address: "2001:db8:::1"}, "Address"},
		{"bad hostname", Registration{Name: "web", Address: "a_b.example"}, "Address"},
		{"port negative", Registration{Name: "web", Port: -1}, "Port"},
		{"port too big", Registration{Name: "web", Port: 65536}, "Port"},
		{"port max", Registration{Name: "web", Port: 65535}, ""},
		{"too many tags", Registration{Name: "web", Tags: manyTags}, "Tags"},
		{"tag too long", Registration{Name: "web", Tags: []string{strings.Repeat("t", MaxTagLen+1)}}, "Tags[0]"},
		{"empty tag", Registration{Name: "web", Tags: []string{"ok", ""}}, "Tags[1]"},
		{"too many meta", Registration{Name: "web", Meta: manyMeta}, "Meta"},
		{"meta bad key", Registration{Name: "web", Meta: map[string]string{"a.b": "v"}}, "Meta"},
		{"meta reserved", Registration{Name: "web", Meta: map[string]string{"consul-x": "v"}}, "Meta"},
		{"meta long value", Registration{Name: "web", Meta: map[string]string{"k": strings.Repeat("v", MaxMetaValueLen+1)}}, `Meta["k"]`},
		{"weights zero passing", Registration{Name: "web", Weights: &Weights{Passing: 0, Warning: 1}}, "Weights.Passing"},
		{"weights negative warning", Registration{Name: "web", Weights: &Weights{Passing: 1, Warning: -1}}, "Weights.Warning"},
		{"too many checks", Registration{Name: "web", Checks: manyChecks}, "Checks"},
		{"check without kind", Registration{Name: "web", Checks: []CheckSpec{{Name: "x"}}}, "Checks[0].HTTP"},
		{"check two kinds", Registration{Name: "web", Checks: []CheckSpec{{TCP: "a:1", TTL: time.Second}}}, "Checks[0].HTTP"},
		{"http without interval", Registration{Name: "web", Checks: []CheckSpec{{HTTP: "http://a/"}}}, "Checks[0].Interval"},
		{"http bad url", Registration{Name: "web", Checks: []CheckSpec{{HTTP: "ftp://a/", Interval: time.Second}}}, "Checks[0].HTTP"},
		{"tcp bad addr", Registration{Name: "web", Checks: []CheckSpec{{TCP: "nohost", Interval: time.Second}}}, "Checks[0].TCP"},
		{"tcp bad port", Registration{Name: "web", Checks: []CheckSpec{{TCP: "a:99999", Interval: time.Second}}}, "Checks[0].TCP"},
		{"bad status", Registration{Name: "web", Checks: []CheckSpec{{TTL: time.Second, Status: "ok"}}}, "Checks[0].Status"},
		{"negative interval", Registration{Name: "web", Checks: []CheckSpec{{TCP: "a:1", Interval: -time.Second}}}, "Checks[0].Interval"},
		{"dereg too short", Registration{Name: "web", Checks: []CheckSpec{{TTL: time.Second, DeregisterCriticalServiceAfter: time.Millisecond}}}, "Checks[0].DeregisterCriticalServiceAfter"},
		{"bad method", Registration{Name: "web", Checks: []CheckSpec{{HTTP: "http://a/", Interval: time.Second, Method: "GE T"}}}, "Checks[0].Method"},
		{"bad header", Registration{Name: "web", Checks: []CheckSpec{{HTTP: "http://a/", Interval: time.Second, Header: map[string][]string{"X": {"a\nb"}}}}}, "Checks[0].Header"},
		{"duplicate check ids", Registration{Name: "web", Checks: []CheckSpec{{ID: "c", TTL: time.Second}, {ID: "c", TTL: time.Second}}}, "Checks[1].CheckID"},
		{"reserved check id", Registration{Name: "web", Checks: []CheckSpec{{ID: "_service_maintenance:x", TTL: time.Second}}}, "Checks[0].CheckID"},
		{"negative threshold", Registration{Name: "web", Checks: []CheckSpec{{TTL: time.Second, FailuresBeforeCritical: -1}}}, "Checks[0].FailuresBeforeCritical"},
	}
	s := openTest(t, "", nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Snapshot()
			_, err := s.Register(tc.reg)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			if ve.Field != tc.field {
				t.Errorf("field = %q, want %q (%v)", ve.Field, tc.field, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if after := s.Snapshot(); after != before {
				t.Errorf("invalid registration published a new snapshot (index %d → %d)", before.Index(), after.Index())
			}
		})
	}
}

func TestRegisterDefaults(t *testing.T) {
	s := openTest(t, "", nil)
	in := mustRegister(t, s, Registration{Name: "Web", Checks: []CheckSpec{{HTTP: "http://x/", Interval: 500 * time.Millisecond, Timeout: time.Minute}}})
	if in.ID != "web" || in.Name != "web" {
		t.Errorf("ID, Name = %q, %q; want web, web", in.ID, in.Name)
	}
	if in.Address != "127.0.0.1" || in.Addr.String() != "127.0.0.1" {
		t.Errorf("Address = %q, want the advertise address", in.Address)
	}
	if in.Weights != (Weights{1, 1}) {
		t.Errorf("Weights = %+v, want {1 1}", in.Weights)
	}
	c := in.Checks[0]
	if c.ID != "service:web" || c.Name != "Service 'web' check" || c.Method != "GET" {
		t.Errorf("check defaults: ID %q Name %q Method %q", c.ID, c.Name, c.Method)
	}
	if c.Interval != time.Second || c.Timeout != time.Second {
		t.Errorf("Interval %s Timeout %s; want both clamped to 1s", c.Interval, c.Timeout)
	}
	if c.Status != Critical || in.Health != Critical {
		t.Errorf("initial status %s health %s; want critical", c.Status, in.Health)
	}
	two := mustRegister(t, s, Registration{Name: "api", ID: "api1", Checks: []CheckSpec{{TTL: time.Second, Status: Passing}, {TCP: "a:1", Interval: time.Second}}})
	if two.Checks[0].ID != "service:api1:1" || two.Checks[1].ID != "service:api1:2" {
		t.Errorf("check IDs = %q, %q; want service:api1:1, service:api1:2", two.Checks[0].ID, two.Checks[1].ID)
	}
}

func TestCheckIDConflict(t *testing.T) {
	s := openTest(t, "", nil)
	mustRegister(t, s, Registration{Name: "a", Checks: []CheckSpec{{ID: "shared", TTL: time.Second}}})
	_, err := s.Register(Registration{Name: "b", Checks: []CheckSpec{{ID: "shared", TTL: time.Second}}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `already belongs to instance "a"`) {
		t.Fatalf("got %v, want a conflict naming instance a", err)
	}
	if s.Snapshot().Instance("b") != nil {
		t.Error("conflicting registration was applied")
	}
}

func TestRegisterCheckRefusesDotIDs(t *testing.T) {
	s := openTest(t, "", nil)
	mustRegister(t, s, Registration{ID: "w", Name: "web"})
	for _, id := range []string{".", ".."} {
		err := s.RegisterCheck(CheckSpec{ServiceID: "w", ID: id, TTL: time.Second})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "CheckID" || !strings.Contains(err.Error(), "path") {
			t.Errorf("check ID %q: %v, want a CheckID error saying why", id, err)
		}
	}
}

// TestErrorsNameWholeCharacters checks that a rule broken by a character
// outside ASCII names that character, not one byte of its encoding.
func TestErrorsNameWholeCharacters(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"service name", ValidName("wéb"), `'é'`},
		{"service name, 4-byte character", ValidName("web😀"), `'😀'`},
		{"ID", ValidID("ID", "a\u00a0b"), `'\u00a0'`},
		{"long service name", ValidName(strings.Repeat("a", 63) + "é"), `'é'`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
				t.Fatalf("error %v, want it to name %s", c.err, c.want)
			}
			if !utf8.ValidString(c.err.Error()) || strings.Contains(c.err.Error(), "Ã") || strings.Contains(c.err.Error(), "ð") {
				t.Errorf("error names a byte of the character: %v", c.err)
			}
		})
	}
}

func TestTruncKeepsCharactersWhole(t *testing.T) {
	for _, in := range []string{strings.Repeat("é", 40), "a" + strings.Repeat("😀", 20), strings.Repeat("x", 100)} {
		if got := trunc(in); !utf8.ValidString(got) || len(got) > 64+len("…") {
			t.Errorf("trunc(%q) = %q", in, got)
		}
	}
}
