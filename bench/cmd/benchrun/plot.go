package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// panel is one horizontal bar chart.
type panel struct {
	title string
	unit  string
	vals  []figure // one per contender, in report order
}

// Plot geometry, in pixels.
const (
	plotWidth = 900
	labelW    = 190
	barH      = 16
	rowH      = 22
	valueW    = 110
)

var (
	ink   = color.RGBA{0x20, 0x20, 0x20, 0xff}
	ours  = color.RGBA{0xd9, 0x5f, 0x02, 0xff}
	other = color.RGBA{0x4c, 0x72, 0xb0, 0xff}
	floor = color.RGBA{0x9a, 0x9a, 0x9a, 0xff}
)

// writePlot draws bar charts of per-invocation CPU and first byte per
// contender (and the 128 MB run's, if it ran) into a PNG at path.
func writePlot(path string, r *report) error {
	full := r.all(r.full)
	panels := []panel{
		{title: "bootstrap CPU per trivial invocation (median)", unit: "ms", vals: pick(r, full, func(f figures) figure { return f.cpuInv })},
		{title: "first byte of an invocation (median)", unit: "us", vals: pick(r, full, func(f figures) figure { return f.firstMed })},
	}
	if len(r.slow[refName].cpuInv) > 0 {
		slow := r.all(r.slow)
		panels = append(panels,
			panel{title: "128 MB (7.2% of a CPU): bootstrap CPU per trivial invocation", unit: "ms", vals: pick(r, slow, func(f figures) figure { return f.cpuInv })},
			panel{title: "128 MB (7.2% of a CPU): first byte (median)", unit: "us", vals: pick(r, slow, func(f figures) figure { return f.firstMed })},
		)
	}
	panelH := 30 + rowH*len(r.contenders) + 10
	img := image.NewRGBA(image.Rect(0, 0, plotWidth, 10+panelH*len(panels)))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for i, p := range panels {
		y0 := 10 + i*panelH
		text(img, 10, y0+14, p.title, ink)
		// The scale is set by the compiled contenders: bash+curl is two
		// orders of magnitude off and its bar is cut (marked "//").
		var top float64
		for k, v := range p.vals {
			if v.ok && !r.contenders[k].script {
				top = max(top, v.v)
			}
		}
		top *= 1.25
		for k, c := range r.contenders {
			y := y0 + 30 + k*rowH
			text(img, 10, y+12, c.name, ink)
			v := p.vals[k]
			if !v.ok {
				text(img, labelW, y+12, "n/a", ink)
				continue
			}
			span := plotWidth - labelW - valueW
			w, cut := 1, false
			if top > 0 {
				w = max(1, int(v.v/top*float64(span)))
			}
			if w > span {
				w, cut = span, true
			}
			col := other
			switch {
			case c.name == "streamstrap":
				col = ours
			case strings.HasPrefix(c.name, "floor: "):
				col = floor
			}
			draw.Draw(img, image.Rect(labelW, y, labelW+w, y+barH), &image.Uniform{col}, image.Point{}, draw.Src)
			if cut {
				draw.Draw(img, image.Rect(labelW+w-40, y, labelW+w-32, y+barH), image.White, image.Point{}, draw.Src)
				text(img, labelW+w-40, y+12, "//", ink)
			}
			text(img, labelW+w+6, y+12, format(v.v, p.unit), ink)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return f.Close()
}

func pick(r *report, fs map[string]figures, get func(figures) figure) []figure {
	out := make([]figure, len(r.contenders))
	for i, c := range r.contenders {
		out[i] = get(fs[c.name])
	}
	return out
}

func format(v float64, unit string) string {
	if unit == "ms" {
		return fmt.Sprintf("%.3f ms", v)
	}
	return fmt.Sprintf("%.0f us", v)
}

// text draws s with its baseline at (x, y).
func text(img draw.Image, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
