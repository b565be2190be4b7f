package report

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotWidth and plotHeight are the size of every figure.
const (
	plotWidth  = 6.5 * vg.Inch
	plotHeight = 4 * vg.Inch
)

// series is one line of a figure.
type series struct {
	name   string
	xs, ys []float64
	dashed bool // a reference line, not a measurement
}

// figure describes one plot; scaling figures have the cluster size on a log2 x axis.
type figure struct {
	file, title, xLabel, yLabel string
	logX, logY                  bool
	xTicks                      []float64 // where to put labelled ticks on the x axis; nil: automatic
	steps                       bool      // draw each series as a step function (a CDF)
	yMin, yMax                  *float64  // fix the ends of the y axis
	legendBottomRight           bool      // rather than top left, above the lines
	series                      []series
}

// save draws f into dir/f.file; the file's extension picks the format.
func (f figure) save(dir string) error {
	p := plot.New()
	p.Title.Text = f.title
	p.X.Label.Text = f.xLabel
	p.Y.Label.Text = f.yLabel
	p.Legend.Top = !f.legendBottomRight
	p.Legend.Left = !f.legendBottomRight
	p.Add(plotter.NewGrid())
	if f.logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if f.logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if f.xTicks != nil {
		ticks := make(plot.ConstantTicks, len(f.xTicks))
		for i, x := range f.xTicks {
			ticks[i] = plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', -1, 64)}
		}
		p.X.Tick.Marker = ticks
	}
	drawn := 0
	for i, s := range f.series {
		xys := make(plotter.XYs, 0, len(s.xs))
		for j := range s.xs {
			if f.logY && s.ys[j] <= 0 || f.logX && s.xs[j] <= 0 || math.IsNaN(s.ys[j]) {
				continue // a log axis has no place for zero, and NaN is no measurement
			}
			xys = append(xys, plotter.XY{X: s.xs[j], Y: s.ys[j]})
		}
		if len(xys) == 0 {
			continue
		}
		drawn++
		line, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", f.file, s.name, err)
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		if s.dashed {
			line.Color = plotutil.Color(i)
			line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		if f.steps {
			line.StepStyle = plotter.PostStep
			p.Add(line)
			p.Legend.Add(s.name, line)
			continue
		}
		if s.dashed {
			p.Add(line)
			p.Legend.Add(s.name, line)
			continue
		}
		points, err := plotter.NewScatter(xys)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", f.file, s.name, err)
		}
		points.GlyphStyle = draw.GlyphStyle{Color: plotutil.Color(i), Radius: vg.Points(3), Shape: plotutil.Shape(i)}
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
	}
	if drawn == 0 {
		return errNoData
	}
	if f.yMin != nil {
		p.Y.Min = *f.yMin
	}
	if f.yMax != nil {
		p.Y.Max = *f.yMax
	} else if !f.legendBottomRight {
		headroom(&p.Y, f.logY, len(f.series))
	}
	return p.Save(plotWidth, plotHeight, filepath.Join(dir, f.file))
}

// headroom raises the top of the y axis so that a legend of entries lines at the top left does
// not cover the data: by a tenth of the range per entry, on a log axis of the decades.
func headroom(y *plot.Axis, logScale bool, entries int) {
	frac := 0.1 * float64(entries)
	if logScale && y.Min > 0 {
		y.Max *= math.Pow(y.Max/y.Min, frac)
		return
	}
	y.Max += (y.Max - y.Min) * frac
}

// errNoData: a figure whose every series is empty is not drawn.
var errNoData = fmt.Errorf("no data")

// cdf returns the empirical distribution function of sorted values as step points: starting
// from 0 at the smallest value, for each value the fraction of values at or below it.
func cdf(sorted []float64) (xs, ys []float64) {
	if len(sorted) > 0 {
		xs, ys = append(xs, sorted[0]), append(ys, 0) // the step up from nothing at the first value
	}
	for i, v := range sorted {
		xs = append(xs, v)
		ys = append(ys, float64(i+1)/float64(len(sorted)))
	}
	return xs, ys
}
