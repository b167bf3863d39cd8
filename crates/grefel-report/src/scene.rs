//! A tiny retained drawing: rectangles, polylines, discs and text on an integer pixel grid,
//! written out twice from the same primitives, as SVG text and as an RGB raster for PNG.
//!
//! Everything is integer pixels and fixed formatting, and the raster's text comes from the
//! embedded 8x8 bitmap font of `font8x8` (drawn at an integer scale), so both outputs are
//! byte-identical on every run and need no system font. The SVG asks for a `monospace` font at
//! a size close to the bitmap glyphs; viewers substitute their own.

use std::fmt::Write as _;

use font8x8::{BASIC_FONTS, LATIN_FONTS, UnicodeFonts};

/// Side of one bitmap glyph in pixels at scale 1.
pub(crate) const GLYPH: i32 = 8;

/// An opaque colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const WHITE: Self = Self(255, 255, 255);
    pub const BLACK: Self = Self(0, 0, 0);
    pub const GREY: Self = Self(128, 128, 128);
    pub const LIGHT_GREY: Self = Self(225, 225, 225);

    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Where a text's anchor point sits along the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

/// One text label; `(x, y)` is the anchor point, `y` the vertical centre of the glyphs.
/// A vertical text is rotated a quarter turn counter-clockwise (reads bottom to top).
#[derive(Debug, Clone)]
pub(crate) struct Text {
    pub x: i32,
    pub y: i32,
    pub text: String,
    pub scale: i32,
    pub anchor: Anchor,
    pub color: Rgb,
    pub vertical: bool,
}

#[derive(Debug, Clone)]
enum Prim {
    Rect { x: i32, y: i32, w: i32, h: i32, fill: Option<Rgb>, stroke: Option<Rgb> },
    Line { points: Vec<(i32, i32)>, color: Rgb, width: i32, dash: Option<(i32, i32)> },
    Disc { cx: i32, cy: i32, r: i32, color: Rgb },
    Text(Text),
}

/// A drawing of `width` x `height` pixels on a white background.
#[derive(Debug, Clone)]
pub(crate) struct Scene {
    pub width: u32,
    pub height: u32,
    prims: Vec<Prim>,
}

impl Scene {
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height, prims: Vec::new() }
    }

    /// A rectangle covering pixels `x..x+w`, `y..y+h`; the stroke is the 1-pixel border inside.
    pub fn rect(&mut self, x: i32, y: i32, w: i32, h: i32, fill: Option<Rgb>, stroke: Option<Rgb>) {
        self.prims.push(Prim::Rect { x, y, w, h, fill, stroke });
    }

    /// A polyline through pixel centres, `width` pixels thick, optionally dashed (on, off).
    pub fn line(&mut self, points: Vec<(i32, i32)>, color: Rgb, width: i32, dash: Option<(i32, i32)>) {
        self.prims.push(Prim::Line { points, color, width, dash });
    }

    /// A filled disc of radius `r` around the centre of pixel `(cx, cy)`.
    pub fn disc(&mut self, cx: i32, cy: i32, r: i32, color: Rgb) {
        self.prims.push(Prim::Disc { cx, cy, r, color });
    }

    /// A horizontal text label.
    pub fn text(&mut self, x: i32, y: i32, text: impl Into<String>, scale: i32, anchor: Anchor) {
        self.prims.push(Prim::Text(Text {
            x,
            y,
            text: text.into(),
            scale,
            anchor,
            color: Rgb::BLACK,
            vertical: false,
        }));
    }

    /// Any text label.
    pub fn label(&mut self, text: Text) {
        self.prims.push(Prim::Text(text));
    }

    /// Width in pixels of `text` at `scale` in the bitmap font.
    pub fn text_width(text: &str, scale: i32) -> i32 {
        i32::try_from(text.chars().count()).unwrap_or(i32::MAX / GLYPH).saturating_mul(GLYPH * scale)
    }

    /// The drawing as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let (w, h) = (self.width, self.height);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">"
        );
        let _ = writeln!(out, "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>");
        for prim in &self.prims {
            match prim {
                Prim::Rect { x, y, w, h, fill, stroke } => {
                    if let Some(fill) = fill {
                        let _ = writeln!(
                            out,
                            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{}\"/>",
                            fill.hex()
                        );
                    }
                    if let Some(stroke) = stroke {
                        let _ = writeln!(
                            out,
                            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1\"/>",
                            centre(*x),
                            centre(*y),
                            (w - 1).max(0),
                            (h - 1).max(0),
                            stroke.hex()
                        );
                    }
                }
                Prim::Line { points, color, width, dash } => {
                    let pts: Vec<String> =
                        points.iter().map(|(x, y)| format!("{},{}", centre(*x), centre(*y))).collect();
                    let dash =
                        dash.map(|(on, off)| format!(" stroke-dasharray=\"{on} {off}\"")).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\" stroke-linecap=\"round\" stroke-linejoin=\"round\"{dash}/>",
                        pts.join(" "),
                        color.hex()
                    );
                }
                Prim::Disc { cx, cy, r, color } => {
                    let _ = writeln!(
                        out,
                        "<circle cx=\"{}\" cy=\"{}\" r=\"{r}\" fill=\"{}\"/>",
                        centre(*cx),
                        centre(*cy),
                        color.hex()
                    );
                }
                Prim::Text(t) => {
                    let anchor = match t.anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    };
                    let rotate = if t.vertical {
                        format!(" transform=\"rotate(-90 {} {})\"", t.x, t.y)
                    } else {
                        String::new()
                    };
                    // An explicit baseline about 0.35 em below the centre line centres the glyphs
                    // in every renderer (not all of them honour `dominant-baseline`); for a
                    // vertical text the rotation turns this offset sideways, as it should.
                    let size = 12 * t.scale;
                    let _ = writeln!(
                        out,
                        "<text x=\"{}\" y=\"{}\" font-family=\"monospace\" font-size=\"{size}\" text-anchor=\"{anchor}\" fill=\"{}\"{rotate}>{}</text>",
                        t.x,
                        t.y + size * 7 / 20,
                        t.color.hex(),
                        xml_escape(&t.text)
                    );
                }
            }
        }
        out.push_str("</svg>\n");
        out
    }

    /// The drawing as packed 8-bit RGB rows, top to bottom.
    pub fn to_rgb(&self) -> Vec<u8> {
        self.draw_over(Canvas::new(self.width, self.height).pixels)
    }

    /// The drawing over `pixels` (packed RGB rows of `width` x `height`) instead of white.
    pub fn draw_over(&self, pixels: Vec<u8>) -> Vec<u8> {
        let mut canvas = Canvas::new(self.width, self.height);
        if pixels.len() == canvas.pixels.len() {
            canvas.pixels = pixels;
        }
        for prim in &self.prims {
            match prim {
                Prim::Rect { x, y, w, h, fill, stroke } => {
                    if let Some(fill) = fill {
                        canvas.fill_rect(*x, *y, *w, *h, *fill);
                    }
                    if let Some(stroke) = stroke {
                        canvas.fill_rect(*x, *y, *w, 1, *stroke);
                        canvas.fill_rect(*x, y + h - 1, *w, 1, *stroke);
                        canvas.fill_rect(*x, *y, 1, *h, *stroke);
                        canvas.fill_rect(x + w - 1, *y, 1, *h, *stroke);
                    }
                }
                Prim::Line { points, color, width, dash } => canvas.polyline(points, *color, *width, *dash),
                Prim::Disc { cx, cy, r, color } => canvas.disc(*cx, *cy, *r, *color),
                Prim::Text(t) => canvas.text(t),
            }
        }
        canvas.pixels
    }
}

struct Canvas {
    width: i32,
    height: i32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Self {
        let (w, h) = (i32::try_from(width).unwrap_or(0), i32::try_from(height).unwrap_or(0));
        Self { width: w, height: h, pixels: vec![255; (w.max(0) as usize) * (h.max(0) as usize) * 3] }
    }

    fn put(&mut self, x: i32, y: i32, c: Rgb) {
        if x < 0 || y < 0 || x >= self.width || y >= self.height {
            return;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        self.pixels[i..i + 3].copy_from_slice(&[c.0, c.1, c.2]);
    }

    fn fill_rect(&mut self, x: i32, y: i32, w: i32, h: i32, c: Rgb) {
        for yy in y.max(0)..(y + h).min(self.height) {
            for xx in x.max(0)..(x + w).min(self.width) {
                self.put(xx, yy, c);
            }
        }
    }

    fn disc(&mut self, cx: i32, cy: i32, r: i32, c: Rgb) {
        let r2 = f64::from(r) * f64::from(r);
        for y in cy - r..=cy + r {
            for x in cx - r..=cx + r {
                let (dx, dy) = (f64::from(x - cx), f64::from(y - cy));
                if dx * dx + dy * dy <= r2 {
                    self.put(x, y, c);
                }
            }
        }
    }

    /// Every pixel whose centre lies within `width / 2` of a segment (a round-capped stroke);
    /// with a dash, only where the arc length along the polyline falls in an "on" stretch.
    fn polyline(&mut self, points: &[(i32, i32)], c: Rgb, width: i32, dash: Option<(i32, i32)>) {
        let half = f64::from(width.max(1)) / 2.0;
        let reach = width.max(1) / 2 + 1;
        let mut travelled = 0.0;
        for pair in points.windows(2) {
            let [(x0, y0), (x1, y1)] = [pair[0], pair[1]];
            let (dx, dy) = (f64::from(x1 - x0), f64::from(y1 - y0));
            let len2 = dx * dx + dy * dy;
            let len = len2.sqrt();
            for y in y0.min(y1) - reach..=y0.max(y1) + reach {
                for x in x0.min(x1) - reach..=x0.max(x1) + reach {
                    let (px, py) = (f64::from(x - x0), f64::from(y - y0));
                    let t = if len2 > 0.0 { ((px * dx + py * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
                    let (ex, ey) = (px - t * dx, py - t * dy);
                    if ex * ex + ey * ey > half * half {
                        continue;
                    }
                    if let Some((on, off)) = dash {
                        let period = f64::from((on + off).max(1));
                        if (travelled + t * len) % period >= f64::from(on) {
                            continue;
                        }
                    }
                    self.put(x, y, c);
                }
            }
            travelled += len;
        }
    }

    fn text(&mut self, t: &Text) {
        let s = t.scale.max(1);
        let length = Scene::text_width(&t.text, s);
        let offset = match t.anchor {
            Anchor::Start => 0,
            Anchor::Middle => length / 2,
            Anchor::End => length,
        };
        for (i, ch) in t.text.chars().enumerate() {
            let glyph = BASIC_FONTS.get(ch).or_else(|| LATIN_FONTS.get(ch)).or_else(|| BASIC_FONTS.get('?'));
            let Some(glyph) = glyph else { continue };
            let i = i32::try_from(i).unwrap_or(i32::MAX / (GLYPH * s));
            for (gy, bits) in (0i32..).zip(glyph) {
                for gx in 0..GLYPH {
                    if bits & (1 << gx) == 0 {
                        continue;
                    }
                    // (u, v): position along the text and down from its top edge.
                    let u = (i * GLYPH + gx) * s;
                    let v = gy * s;
                    for a in 0..s {
                        for b in 0..s {
                            if t.vertical {
                                self.put(t.x - GLYPH * s / 2 + v + b, t.y + offset - 1 - (u + a), t.color);
                            } else {
                                self.put(t.x - offset + u + a, t.y - GLYPH * s / 2 + v + b, t.color);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The SVG coordinate of the centre of pixel `v` (`10.5`).
fn centre(v: i32) -> String {
    (f64::from(v) + 0.5).to_string()
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lands_in_its_box() {
        let mut scene = Scene::new(40, 20);
        scene.text(20, 10, "Hi", 1, Anchor::Middle);
        let rgb = scene.to_rgb();
        let dark: Vec<(usize, usize)> = (0..20)
            .flat_map(|y| (0..40).map(move |x| (x, y)))
            .filter(|&(x, y)| rgb[(y * 40 + x) * 3] == 0)
            .collect();
        assert!(!dark.is_empty());
        assert!(dark.iter().all(|&(x, y)| (12..28).contains(&x) && (6..14).contains(&y)), "{dark:?}");
    }

    #[test]
    fn dashed_line_has_gaps_and_svg_escapes() {
        let mut scene = Scene::new(50, 5);
        scene.line(vec![(0, 2), (49, 2)], Rgb::BLACK, 1, Some((4, 4)));
        let rgb = scene.to_rgb();
        let row: Vec<bool> = (0..50).map(|x| rgb[(2 * 50 + x) * 3 + 1] == 0).collect();
        assert!(row[..4].iter().all(|&on| on) && !row[5] && row[9], "{row:?}");
        assert!(scene.to_svg().contains("points=\"0.5,2.5 49.5,2.5\""));
        let mut scene = Scene::new(50, 5);
        scene.text(0, 2, "a<b & c", 1, Anchor::Start);
        assert!(scene.to_svg().contains(">a&lt;b &amp; c</text>"));
    }
}
