package desktop

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"
)

// The tray icons are drawn here rather than shipped as files: three small
// variants of one shape (a disc with a glyph) differ only in colour and
// glyph, and drawing them keeps them in step with each other.

// Icon picks one of the drawn icons.
type Icon int

// The icons: the tray shows one per state, a notification the one of its event.
const (
	IconIdle Icon = iota
	IconTransferring
	IconError
)

// IconSize is the PNG icons' width and height in pixels, and the size of
// the grid the glyphs are designed on.
const IconSize = 32

var iconColors = map[Icon]color.NRGBA{
	IconIdle:         {0x6b, 0x72, 0x80, 0xff}, // grey: nothing moves
	IconTransferring: {0x25, 0x63, 0xeb, 0xff}, // blue: bytes are moving
	IconError:        {0xdc, 0x26, 0x26, 0xff}, // red: a job needs the user
}

type drawnIcon struct {
	img *image.NRGBA
	png []byte
}

// icons are drawn on first use, not at init: the headless engine links
// this package and may never show one.
var icons = sync.OnceValue(func() map[Icon]drawnIcon {
	out := map[Icon]drawnIcon{}
	for st := range iconColors {
		img := drawIcon(st, IconSize)
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			panic("desktop: encoding a drawn icon: " + err.Error()) // cannot fail for an in-memory NRGBA
		}
		out[st] = drawnIcon{img, buf.Bytes()}
	}
	return out
})

// IconPNG returns the PNG of an icon, IconSize pixels square.
func IconPNG(st Icon) []byte { return icons()[st].png }

// IconImage draws an icon size pixels square, for a platform that wants
// its own size (Windows' notification area: 16 pixels at 100% scaling).
func IconImage(st Icon, size int) *image.NRGBA { return drawIcon(st, size) }

// drawIcon renders a disc of the state's colour with a white glyph: a
// down arrow (idle, transferring) or an exclamation mark (error), scaled
// from the IconSize grid to size. Each pixel is supersampled 4×4 so the
// edges stay smooth at panel sizes.
func drawIcon(st Icon, size int) *image.NRGBA {
	const ss = 4
	c := iconColors[st]
	glyph := arrowGlyph
	if st == IconError {
		glyph = bangGlyph
	}
	scale := float64(IconSize) / float64(size)
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for py := range size {
		for px := range size {
			var disc, white int
			for sy := range ss {
				for sx := range ss {
					x := (float64(px) + (float64(sx)+0.5)/ss) * scale
					y := (float64(py) + (float64(sy)+0.5)/ss) * scale
					if math.Hypot(x-16, y-16) > 15.5 {
						continue
					}
					disc++
					if glyph(x, y) {
						white++
					}
				}
			}
			if disc == 0 {
				continue
			}
			mix := func(base uint8) uint8 {
				return uint8((int(base)*(disc-white) + 255*white) / disc)
			}
			img.SetNRGBA(px, py, color.NRGBA{mix(c.R), mix(c.G), mix(c.B), uint8(255 * disc / (ss * ss))})
		}
	}
	return img
}

// arrowGlyph is a down arrow over a base line: "download".
func arrowGlyph(x, y float64) bool {
	shaft := x >= 13.5 && x <= 18.5 && y >= 6 && y <= 16
	// Head: a triangle from y=14 (half width 7) down to its tip at y=22.
	head := y >= 14 && y <= 22 && math.Abs(x-16) <= 7*(22-y)/8
	base := x >= 8 && x <= 24 && y >= 24 && y <= 26.5
	return shaft || head || base
}

// bangGlyph is an exclamation mark: "needs attention".
func bangGlyph(x, y float64) bool {
	bar := x >= 13.75 && x <= 18.25 && y >= 6 && y <= 19
	dot := math.Hypot(x-16, y-23.5) <= 2.5
	return bar || dot
}
