package stats

import (
	"fmt"
	"io"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metric is the value of the unlabelled sample name in a Prometheus text
// exposition: a counter, gauge or untyped metric of that name, or the
// _count or _sum of a histogram or summary. A missing sample is an error,
// so that a renamed metric cannot silently read as zero.
func Metric(text io.Reader, name string) (float64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(text)
	if err != nil {
		return 0, fmt.Errorf("reading metrics: %w", err)
	}
	if mf, ok := families[name]; ok {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) > 0 {
				continue
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), nil
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), nil
			case dto.MetricType_UNTYPED:
				return m.GetUntyped().GetValue(), nil
			}
		}
	}
	for _, suffix := range []string{"_count", "_sum"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		for _, m := range families[base].GetMetric() {
			if len(m.GetLabel()) > 0 {
				continue
			}
			switch {
			case m.GetHistogram() != nil && suffix == "_count":
				return float64(m.GetHistogram().GetSampleCount()), nil
			case m.GetHistogram() != nil:
				return m.GetHistogram().GetSampleSum(), nil
			case m.GetSummary() != nil && suffix == "_count":
				return float64(m.GetSummary().GetSampleCount()), nil
			case m.GetSummary() != nil:
				return m.GetSummary().GetSampleSum(), nil
			}
		}
	}
	return 0, fmt.Errorf("metric %s not found in /metrics", name)
}
