//! Photos with their faces marked: a box per face and its label above it, drawn with the same
//! primitives and bitmap font as the figures (no system font; the same bytes on every run).

use image::RgbImage;

use crate::scene::{Anchor, GLYPH, Rgb, Scene, Text};

/// One face to mark on a photo.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceMark {
    /// Face box `[left, top, right, bottom]` in pixels of the photo.
    pub rect: [f32; 4],
    /// The label drawn above the box (`happy 0.93`).
    pub text: String,
}

/// Box colours, cycled over the faces of a photo.
const COLOURS: [Rgb; 4] = [Rgb(0, 200, 83), Rgb(41, 121, 255), Rgb(255, 145, 0), Rgb(213, 0, 249)];

/// `image` with every face of `marks` boxed and labelled.
pub fn annotate(image: &RgbImage, marks: &[FaceMark]) -> RgbImage {
    let (w, h) = image.dimensions();
    let side = w.min(h).max(1);
    // Line and text grow with the photo, and shrink for small faces (a group photo).
    let max_stroke = i32::try_from(side / 170).unwrap_or(1).max(2);
    let max_scale = i32::try_from(side / 256).unwrap_or(1).clamp(1, 6);
    let mut scene = Scene::new(w, h);
    for (mark, colour) in marks.iter().zip(COLOURS.iter().cycle()) {
        let [l, t, r, b] = mark.rect.map(|v| v.round() as i32);
        let stroke = ((r - l) / 40).clamp(2, max_stroke.max(2));
        let scale = ((r - l) / 90).clamp(1, max_scale);
        scene.line(vec![(l, t), (r, t), (r, b), (l, b), (l, t)], *colour, stroke, None);
        let text_w = Scene::text_width(&mark.text, scale) + 2 * scale;
        let text_h = (GLYPH + 2) * scale;
        // Above the box where there is room, else inside its top edge.
        let top = if t - stroke - text_h >= 0 { t - stroke - text_h } else { t + stroke };
        let left = l.clamp(0, (i32::try_from(w).unwrap_or(i32::MAX) - text_w).max(0));
        scene.rect(left, top, text_w, text_h, Some(*colour), None);
        scene.label(Text {
            x: left + scale,
            y: top + text_h / 2,
            text: mark.text.clone(),
            scale,
            anchor: Anchor::Start,
            color: Rgb::WHITE,
            vertical: false,
        });
    }
    let pixels = scene.draw_over(image.as_raw().clone());
    RgbImage::from_raw(w, h, pixels).unwrap_or_else(|| image.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_and_labels_are_drawn_and_the_rest_is_the_photo() {
        let photo = RgbImage::from_fn(200, 160, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 50]));
        let marks = [FaceMark { rect: [40.0, 60.0, 120.0, 140.0], text: "happy 0.93".into() }];
        let out = annotate(&photo, &marks);
        assert_eq!(out.dimensions(), photo.dimensions());
        // The box's left edge has the first colour; a pixel well inside the box is untouched.
        let Rgb(r, g, b) = COLOURS[0];
        assert_eq!(out.get_pixel(40, 100).0, [r, g, b]);
        assert_eq!(out.get_pixel(80, 100), photo.get_pixel(80, 100));
        // The label sits above the box: some pixels there changed, some are white text.
        let changed = (0..200)
            .flat_map(|x| (40..58).map(move |y| (x, y)))
            .filter(|&(x, y)| out.get_pixel(x, y) != photo.get_pixel(x, y))
            .count();
        assert!(changed > 100, "label area changed {changed} pixels");
        assert!((40..58).any(|y| (40..140).any(|x| out.get_pixel(x, y).0 == [255, 255, 255])));
        // Far from the face nothing changed.
        assert_eq!(out.get_pixel(190, 150), photo.get_pixel(190, 150));
    }
}
