package cluster

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"time"
)

// SamplesFile is the name of the file, in the directory given to the benchmarks, that receives
// one row per measured decision; the report draws latency CDFs from it.
const SamplesFile = "decisions.csv"

// SamplesHeader are the columns of SamplesFile.
var SamplesHeader = []string{"nodes", "experiment", "kind", "member", "ordinal", "started", "latency_ms", "elder_frames", "all_frames"}

// AppendSamples appends one row per decision to the CSV file at path, writing the header first
// when the file is new or empty. Several benchmark runs (-count) append to the same file.
func AppendSamples(path string, nodes int, experiment string, decisions []*Decision) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w := csv.NewWriter(f)
	if info.Size() == 0 {
		_ = w.Write(SamplesHeader)
	}
	for _, d := range decisions {
		_ = w.Write([]string{
			strconv.Itoa(nodes), experiment, d.Key.Kind, d.Key.Name[:min(16, len(d.Key.Name))],
			strconv.FormatUint(d.Key.Ordinal, 10), d.Started.UTC().Format(time.RFC3339Nano),
			strconv.FormatFloat(ms(d.Latency()), 'f', 3, 64), strconv.Itoa(d.ElderFrames), strconv.Itoa(d.AllFrames),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
