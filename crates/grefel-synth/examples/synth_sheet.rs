//! Draws a contact sheet of the default synthetic dataset (one row per class, `--per-class`
//! samples each, spread over the class) and optionally times a full `generate` run.
//!
//! ```text
//! cargo run -p grefel-synth --example synth_sheet -- [--out sheet.png] [--per-class 4]
//!     [--zoom 2] [--size 64] [--time DIR]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use grefel_schema::Expression;
use grefel_synth::{SynthConfig, generate, render_sample};
use image::{RgbImage, imageops};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = PathBuf::from("/tmp/synth_sheet.png");
    let mut per_class = 4usize;
    let mut zoom = 2u32;
    let mut time_dir: Option<PathBuf> = None;
    let mut landmarks = false;
    let mut config = SynthConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--landmarks" {
            landmarks = true;
            continue;
        }
        if flag == "--clean" {
            config.nuisance = grefel_synth::Nuisance::none();
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--out" => out = PathBuf::from(value),
            "--per-class" => per_class = value.parse()?,
            "--zoom" => zoom = value.parse()?,
            "--size" => config.image_size = value.parse()?,
            "--time" => time_dir = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    config.validate()?;
    let counts = config.class_counts();
    let cell = config.image_size * zoom;
    let mut sheet = RgbImage::new(cell * per_class as u32, cell * 7);
    let mut start = 0;
    for (row, (&n, e)) in counts.iter().zip(Expression::BASIC).enumerate() {
        for col in 0..per_class {
            let index = start + col * n / per_class;
            let sample = render_sample(&config, index);
            assert_eq!(sample.expression, e);
            let mut big = imageops::resize(&sample.image, cell, cell, imageops::FilterType::Nearest);
            if landmarks {
                for [x, y] in sample.landmarks {
                    let (px, py) = ((x * zoom as f32) as u32, (y * zoom as f32) as u32);
                    if px < cell && py < cell {
                        big.put_pixel(px, py, image::Rgb([255, 0, 0]));
                    }
                }
            }
            imageops::replace(&mut sheet, &big, i64::from(col as u32 * cell), i64::from(row as u32 * cell));
        }
        start += n;
    }
    sheet.save(&out)?;
    println!("contact sheet: {} (rows: {:?})", out.display(), Expression::BASIC.map(|e| e.name()));
    if let Some(dir) = time_dir {
        let t = Instant::now();
        let summary = generate(&SynthConfig::default(), &dir)?;
        println!(
            "generate(default) into {}: {} images, counts {:?}, reused {}, {:.2} s",
            dir.display(),
            summary.files,
            summary.counts,
            summary.reused,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
