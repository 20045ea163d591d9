package health

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		workers int
		want    string // a phrase of the rule; empty when valid
	}{
		{0, ""},
		{1, ""},
		{50000, ""},
		{-1, "use 0 to size the pool"},
	} {
		err := Config{Workers: tc.workers}.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Workers %d: %v, want valid", tc.workers, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), "Workers: ") || !strings.Contains(errors.Unwrap(err).Error(), tc.want)):
			t.Errorf("Workers %d: %v, want a Workers error saying %q", tc.workers, err, tc.want)
		}
	}
}
