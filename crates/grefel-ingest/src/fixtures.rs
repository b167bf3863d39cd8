//! Tiny dataset trees in the official on-disk layouts, each with the traps its adapter must
//! survive (docs/datasets.md §5–§8): the adapter tests build them and assert exactly what is
//! kept and skipped, and `cargo xtask fixtures` writes them for trying `cargo xtask prepare` by
//! hand.
//!
//! Every builder writes a complete tree under `root` (creating folders as needed) and is
//! deterministic: the same call gives byte-identical files. [`ALL`] lists them with the layout of
//! the folder `cargo xtask fixtures` writes and the adapter that reads each one.

use std::io;
use std::path::Path;

use image::ImageFormat;

use crate::ferplus;

/// One fixture tree: what `cargo xtask fixtures` writes and the `prepare` run that reads it.
#[derive(Clone, Copy, Debug)]
pub struct Fixture {
    /// The folder the tree is written in (`<out>/<name>/`), also the output dataset name of its
    /// `prepare` run (`affectnet-csv`, `rafdb`, …).
    pub name: &'static str,
    /// The adapter that reads it (`cargo xtask prepare --dataset`).
    pub adapter: &'static str,
    /// The dataset root inside `<out>/<name>/` (empty: the folder itself). A builder that writes
    /// a file outside its root (the AffectNet path-escape trap) gets a sub-folder.
    pub root: &'static str,
    /// Layout variants of the same tree worth a run of their own (`--variant`), besides the
    /// default or detected one.
    pub extra_variants: &'static [&'static str],
    /// Writes the tree with the dataset root at the given path.
    pub build: fn(&Path) -> io::Result<()>,
}

/// Every fixture, one per dataset layout.
pub const ALL: &[Fixture] = &[
    Fixture { name: "rafdb", adapter: "rafdb", root: "", extra_variants: &["original"], build: rafdb },
    Fixture { name: "fergdb", adapter: "fergdb", root: "FERG_DB_256", extra_variants: &[], build: fergdb },
    Fixture { name: "jaffe", adapter: "jaffe", root: "", extra_variants: &[], build: jaffe },
    Fixture { name: "fer2013", adapter: "fer2013", root: "", extra_variants: &[], build: fer2013 },
    Fixture {
        name: "ferplus",
        adapter: "ferplus",
        root: "",
        extra_variants: &["fer2013new"],
        build: ferplus,
    },
    Fixture {
        name: "affectnet-csv",
        adapter: "affectnet",
        root: "AffectNet",
        extra_variants: &[],
        build: affectnet_csv,
    },
    Fixture {
        name: "affectnet-npy",
        adapter: "affectnet",
        root: "AffectNet",
        extra_variants: &[],
        build: affectnet_npy,
    },
    Fixture {
        name: "affectnet-folders",
        adapter: "affectnet",
        root: "AffectNet",
        extra_variants: &[],
        build: affectnet_folders,
    },
    Fixture {
        name: "affwild2",
        adapter: "affwild2",
        root: "Aff-Wild2",
        extra_variants: &[],
        build: affwild2,
    },
];

/// The fixture called `name` (a [`Fixture::name`]).
pub fn by_name(name: &str) -> Option<&'static Fixture> {
    ALL.iter().find(|f| f.name == name)
}

// ---------------------------------------------------------------------------------------------
// Writing helpers.

fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent),
        None => Ok(()),
    }
}

/// Writes a `w`×`h` RGB image filled with `rgb`, in `format` (`None`: from the extension).
fn write_rgb(path: &Path, w: u32, h: u32, rgb: [u8; 3], format: Option<ImageFormat>) -> io::Result<()> {
    write_image(path, &image::RgbImage::from_pixel(w, h, image::Rgb(rgb)), format)
}

/// Writes `img` in `format` (`None`: from the extension), creating its folder.
fn write_image<P>(
    path: &Path,
    img: &image::ImageBuffer<P, Vec<u8>>,
    format: Option<ImageFormat>,
) -> io::Result<()>
where
    P: image::PixelWithColorType<Subpixel = u8>,
{
    create_parent(path)?;
    match format {
        Some(f) => img.save_with_format(path, f),
        None => img.save(path),
    }
    .map_err(|e| io::Error::other(format!("writing {}: {e}", path.display())))
}

/// Writes a text or binary file, creating its folder.
fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    create_parent(path)?;
    std::fs::write(path, contents)
}

// ---------------------------------------------------------------------------------------------
// RAF-DB.

/// The RAF-DB label file: every line ends in CRLF.
const RAFDB_LABELS: &[&str] = &[
    "train_00001.jpg 4",   // happy, with a manual annotation
    "train_00002.jpg 7",   // neutral
    "train_00003.jpg 8",   // compound-subset value: unknown_label
    "train_00004.jpg 1",   // no image: missing_file
    "train_00005.jpg 2 1", // three fields: malformed_row
    "train_00001.jpg 5",   // repeated name: duplicate_id
    "test_0001.jpg 1",     // surprise
    "test_0002.jpg\t6   ", // anger, tab and trailing blanks
    "test_0003.jpg happy", // not an integer: malformed_row
    "val_0001.jpg 3",      // neither train_ nor test_: malformed_name
    "train_00006.jpg 3",   // disgust
    "train_00007.jpg 5",   // sad
    "",
];

/// RAF-DB basic (`EmoLabel/list_patition_label.txt`, `Image/{aligned,original}/`,
/// `Annotation/manual/`), both image variants: originals 40×30, aligned faces 10×10.
///
/// Traps: CRLF lines; train and test names of different widths; a compound-subset label (`8`,
/// unknown_label); a listed image that is absent (missing_file); a three-field line and a
/// non-integer label (malformed_row); a repeated name (duplicate_id); a `val_` name
/// (malformed_name); a tab and trailing blanks; a manual annotation (5 points in original pixels,
/// gender, race, age) for one image only; a read-me. Kept: 6 rows (4 train, 2 test), enough to
/// carve a selection split and train on the rest.
pub fn rafdb(root: &Path) -> io::Result<()> {
    use crate::rafdb::{LABEL_FILE, aligned_image, manual_annotation, original_image};
    write_file(&root.join(LABEL_FILE), RAFDB_LABELS.join("\r\n"))?;
    for (stem, v) in [
        ("train_00001", 10),
        ("train_00002", 20),
        ("train_00003", 30),
        ("test_0001", 40),
        ("train_00006", 70),
        ("train_00007", 80),
    ] {
        write_rgb(&root.join(original_image(&format!("{stem}.jpg"))), 40, 30, [v; 3], None)?;
        write_rgb(&root.join(aligned_image(stem)), 10, 10, [v; 3], None)?;
    }
    write_rgb(&root.join(original_image("test_0002.jpg")), 40, 30, [50; 3], None)?;
    write_rgb(&root.join(aligned_image("test_0002")), 10, 10, [50; 3], None)?;
    write_rgb(&root.join(aligned_image("val_0001")), 10, 10, [60; 3], None)?;
    // Eyes, nose tip, mouth corners in original pixels; female, Asian, 20-39.
    write_file(
        &root.join(manual_annotation("train_00001")),
        "12.0\t10.0\r\n28.0\t10.0\r\n20.0\t16.5\r\n14.0\t24.0\r\n26.0\t24.0\r\n1\r\n2\r\n2\r\n",
    )?;
    write_file(&root.join("README.txt"), "RAF-DB basic\n")
}

/// The images of [`rafdb`] with a manual annotation each in [`rafdb_attributed`], with their
/// gender, race and age-group codes (RAF-DB's: gender 0 male, 1 female, 2 unsure; race 0
/// Caucasian, 1 African-American, 2 Asian; age 0 `0-3` … 4 `70+`).
pub const RAFDB_ATTRIBUTES: [(&str, [u8; 3]); 7] = [
    ("train_00001", [1, 2, 2]),
    ("train_00002", [0, 0, 2]),
    ("train_00003", [0, 1, 3]),
    ("train_00006", [1, 0, 1]),
    ("train_00007", [2, 2, 2]),
    ("test_0001", [0, 2, 3]),
    ("test_0002", [1, 2, 2]),
];

/// [`rafdb`] with a manual annotation (5 points, gender, race, age group) for every image
/// ([`RAFDB_ATTRIBUTES`]), as the real release has: the tree evaluation by group is tested on.
pub fn rafdb_attributed(root: &Path) -> io::Result<()> {
    rafdb(root)?;
    for (stem, [gender, race, age]) in RAFDB_ATTRIBUTES {
        write_file(
            &root.join(crate::rafdb::manual_annotation(stem)),
            format!(
                "12.0\t10.0\r\n28.0\t10.0\r\n20.0\t16.5\r\n14.0\t24.0\r\n26.0\t24.0\r\n{gender}\r\n{race}\r\n{age}\r\n"
            ),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// FERG-DB.

/// The FERG-DB characters.
const FERGDB_CHARACTERS: [&str; 6] = ["aia", "bonnie", "jules", "malcolm", "mery", "ray"];
/// The FERG-DB expression folder suffixes, in the fixture's order.
const FERGDB_EXPRESSIONS: [&str; 7] = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"];

/// FERG-DB (`<char>/<char>_<expr>/<char>_<expr>_<k>.png`), 16×16 images: every character with
/// two expressions and three images each (36 images, colours that name the image).
///
/// Traps: an expression folder FERG-DB does not have (`aia_happy`, unknown_label); a folder of
/// another character (`aia/bonnie_joy`, malformed_name); a file without an index
/// (`ray_joy_.png`, malformed_name); `Thumbs.db` and a read-me (ignored). Kept: 36 rows, which
/// the default seeded split puts in all three splits (32 train, 2 val, 2 test).
pub fn fergdb(root: &Path) -> io::Result<()> {
    let png = Some(ImageFormat::Png);
    for (c, character) in FERGDB_CHARACTERS.iter().enumerate() {
        for e in 0..2 {
            let expr = FERGDB_EXPRESSIONS[(c + 3 * e) % FERGDB_EXPRESSIONS.len()];
            for k in 1..=3u32 {
                let v = (40 * c + 16 * e + 5 * k as usize) as u8;
                let rel = crate::fergdb::image_path(character, expr, k);
                write_rgb(&root.join(rel), 16, 16, [v, v / 2, 255 - v], png)?;
            }
        }
    }
    write_rgb(&root.join("aia/aia_happy/aia_happy_1.png"), 16, 16, [1, 2, 3], png)?;
    write_rgb(&root.join("aia/bonnie_joy/bonnie_joy_1.png"), 16, 16, [4, 5, 6], png)?;
    write_rgb(&root.join("ray/ray_joy/ray_joy_.png"), 16, 16, [7, 8, 9], png)?;
    write_file(&root.join("ray/Thumbs.db"), "\0")?;
    write_file(&root.join("README.txt"), "FERG-DB\n")
}

// ---------------------------------------------------------------------------------------------
// JAFFE.

/// The JAFFE read-me with its two ratings tables (CRLF lines).
const JAFFE_README: &str = "\
The JAFFE images ...\r
\r
Semantic ratings (fear included)\r
# HAP SAD SUR ANG DIS FEA PIC\r
8 2.00 2.00 2.00 2.00 2.00 2.00 KM-HA5\r
26 1.50 1.50 2.50 1.50 1.50 1.50 KA-NE2\r
29 4.50 1.00 1.50 1.00 1.00 1.00 KA-HA1\r
53 4.00 1.00 1.00 1.00 1.00 2.00 YN-HA2\r
54 1.00 oops 1.00 1.00 1.00 1.00 YM-HA3\r
\r
Fear excluded\r
# HAP SAD SUR ANG DIS PIC\r
29 4.00 1.00 1.00 1.00 1.00 KA-HA1\r
";

/// The file name and grey value of the JAFFE fixture's one true TIFF image (8-bit grey, like the
/// real files).
pub const JAFFE_TIFF: (&str, u8) = ("UY.DI1.4.tiff", 70);

/// JAFFE (a flat `jaffedbase/` folder of `<SUBJ>.<EXP><n>.<N>.tiff` images and
/// `README_FIRST.txt` with the semantic-ratings tables), 8×8 images.
///
/// Traps: most `.tiff` files hold PNG bytes (the driver decodes by content, not extension) and one,
/// [`JAFFE_TIFF`], is a real 8-bit grey TIFF; a ratings row whose image is absent (row 8,
/// missing_file); the `YN-HA2` typo for `YM-HA2`; a row whose `PIC` names another repetition
/// (`KA-NE2` for `KA.NE1.26`: not attached); an image without a ratings row; a non-numeric rating
/// (malformed_row); a fear-excluded second table (not read); an unknown code `XX`
/// (unknown_label); a name without a row number (malformed_name); a `.tiff` that is text
/// (undecodable); `.DS_Store` and an AppleDouble `._` copy. Kept: 9 rows, which the default
/// seeded split puts in all three splits (5 train, 2 val, 2 test), from 8 posers.
pub fn jaffe(root: &Path) -> io::Result<()> {
    use crate::jaffe::{README, image_name};
    let png = Some(ImageFormat::Png);
    for (subject, code, rep, row, v) in [
        ("KA", "HA", 1, 29, 10),  // happy, rated
        ("KA", "NE", 1, 26, 20),  // neutral; its ratings row names KA-NE2: not attached
        ("YM", "HA", 2, 53, 30),  // happy; rated as `YN-HA2`
        ("KL", "SU", 1, 150, 40), // surprise, no ratings row
        ("KM", "SA", 2, 32, 80),  // sad, unrated; seeded into val
        ("KM", "AN", 1, 34, 90),  // anger, unrated; seeded into test
        ("MK", "NE", 2, 87, 100), // neutral, unrated; seeded into val
        ("KR", "AN", 2, 55, 110), // anger, unrated; seeded into test
    ] {
        write_rgb(&root.join(image_name(subject, code, rep, row)), 8, 8, [v; 3], png)?;
    }
    write_rgb(&root.join("KM.XX1.9.tiff"), 8, 8, [50; 3], png)?; // unknown code: unknown_label
    write_rgb(&root.join("KA.HA1.tiff"), 8, 8, [60; 3], png)?; // no row number: malformed_name
    let (tiff, v) = JAFFE_TIFF;
    write_image(
        &root.join(tiff),
        &image::GrayImage::from_pixel(8, 8, image::Luma([v])),
        Some(ImageFormat::Tiff),
    )?;
    write_file(&root.join(image_name("NM", "AN", 1, 200)), "not an image")?; // undecodable
    write_file(&root.join(README), JAFFE_README)?;
    write_file(&root.join(".DS_Store"), "\0\0")?;
    write_file(&root.join("._KA.HA1.29.tiff"), "AppleDouble")
}

// ---------------------------------------------------------------------------------------------
// FER2013.

/// `n` copies of `v`, space-separated (FER2013's pixel strings have 2,304).
fn pixels(v: usize, n: usize) -> String {
    vec![v.to_string(); n].join(" ")
}

/// FER2013 (the Kaggle tarball: `fer2013/fer2013.csv` and a read-me). Row `r`'s pixels are all
/// `10 * r`, so a stored image names its row.
///
/// Traps: CRLF lines; a quoted pixels field; a row with 2,303 values and one with a value of 300
/// (malformed_row); emotion `7` and `x` (unknown_label); a `Validation` usage (malformed_row).
/// Kept: 5 rows (2 train, 1 val, 2 test).
pub fn fer2013(root: &Path) -> io::Result<()> {
    let rows = [
        format!("0,{},Training", pixels(0, 2304)),         // anger
        format!("3,\"{}\",Training", pixels(10, 2304)),    // happy, quoted pixels
        format!("6,{},PublicTest", pixels(20, 2303)),      // 2,303 values: malformed_row
        format!("7,{},PublicTest", pixels(30, 2304)),      // emotion 7: unknown_label
        format!("2,{},PublicTest", pixels(40, 2304)),      // fear
        format!("5,{},PrivateTest", pixels(50, 2304)),     // surprise
        format!("4,{} 300,PrivateTest", pixels(60, 2303)), // value 300: malformed_row
        format!("x,{},PrivateTest", pixels(70, 2304)),     // emotion `x`: unknown_label
        format!("6,{},Validation", pixels(80, 2304)),      // unknown Usage: malformed_row
        format!("6,{},PrivateTest", pixels(90, 2304)),     // neutral
    ];
    let table = format!("emotion,pixels,Usage\r\n{}\r\n", rows.join("\r\n"));
    write_file(&root.join(crate::fer2013::FER2013_TARBALL_CSV), table)?;
    write_file(&root.join("fer2013/README"), "FER2013\n")
}

// ---------------------------------------------------------------------------------------------
// FER+.

const FERPLUS_HEADER: &str =
    "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF";

/// `(Usage, Image name, votes)` per row; votes in file order (neutral, happiness, surprise,
/// sadness, anger, disgust, fear, contempt, unknown, NF).
const FERPLUS_VOTES: &[(&str, &str, &str)] = &[
    ("Training", "fer0000000.png", "6,4,0,0,0,0,0,0,0,0"), // 0 neutral
    ("Training", "", "0,0,0,0,0,0,0,0,0,10"),              // 1 empty name: a non-face
    ("Training", "fer0000001.png", "0,8,2,0,0,0,0,0,0,0"), // 2 happy; the name lags (row 2)
    ("Training", "fer0000001.png", "0,0,7,0,0,0,3,0,0,0"), // 3 surprise; duplicated name
    ("PublicTest", "fer0000003.png", "4,0,0,0,0,0,0,0,6,0"), // 4 unknown wins
    ("PublicTest", "fer0000004.png", "0,4,0,0,0,0,0,0,0,6"), // 5 NF wins (named)
    ("PublicTest", "fer0000005.png", "0,0,0,5,5,0,0,0,0,0"), // 6 tie 5/5: no majority
    ("PrivateTest", "fer0000006.png", "0,0,0,0,4,2,1,1,1,1"), // 7 anger after outlier removal
    ("PrivateTest", "fer0000007.png", "4,0,0,0,0,0,0,6,0,0"), // 8 contempt
    ("Training", "fer0000008.png", "0,x,0,0,0,0,0,0,0,0"), // 9 bad vote: malformed_row
    ("Training", "fer0000009.png", "0,10,0,0,0,0,0,0,0,0"), // 10 its FER2013 row is broken
];

/// Rows of the FER+ fixture's `fer2013new.csv` (and of its `fer2013.csv` in [`ferplus`]).
pub const FERPLUS_ROWS: usize = FERPLUS_VOTES.len();

/// The `fer2013.csv` that goes with the FER+ fixture, with `rows` rows (LF lines, every emotion
/// `3`, usage of the matching vote row). Row `r`'s pixels are all `10 * r`; row 10 has 2,303
/// values.
pub fn ferplus_fer2013_csv(rows: usize) -> String {
    let mut text = String::from("emotion,pixels,Usage\n");
    for r in 0..rows {
        let n = if r == 10 { 2303 } else { 2304 };
        let usage = FERPLUS_VOTES.get(r).map_or("Training", |v| v.0);
        text += &format!("3,{},{usage}\n", pixels(10 * r, n));
    }
    text
}

/// The official per-split `label.csv` files of the FER+ fixture (`data/<folder>/label.csv`): the
/// vote version differs from `fer2013new.csv` for `fer0000004.png` and `fer0000008.png`.
pub const FERPLUS_LABEL_FILES: [(&str, &[&str]); 3] = [
    (
        ferplus::LABEL_FOLDERS[0].0,
        &[
            "fer0000000.png,\"(0, 0, 48, 48)\",6,4,0,0,0,0,0,0,0,0", // neutral
            "fer0000001.png,\"(0, 0, 48, 48)\",0,0,7,0,0,0,3,0,0,0", // surprise: the name's last row
            "fer0000008.png,\"(0, 0, 48, 48)\",2,8,0,0,0,0,0,0,0,0", // happy; its PNG was generated
            "fer0000009.png,\"(0, 0, 48, 48)\",0,10,0,0,0,0,0,0,0,0", // its FER2013 row is broken
            "fer0000000.png,\"(0, 0, 48, 48)\",6,4,0,0,0,0,0,0,0,0", // repeated: duplicate_id
            "fer0000099.png,\"(0, 0, 48, 48)\",1,2",                 // short: malformed_row
            "fer0000077.png,\"(0, 0, 48, 48)\",10,0,0,0,0,0,0,0,0,0", // no image, no row: missing_file
        ],
    ),
    (
        ferplus::LABEL_FOLDERS[1].0,
        &[
            "fer0000003.png,\"(0, 0, 48, 48)\",4,0,0,0,0,0,0,0,6,0", // unknown wins: ignored_label
            "fer0000004.png,\"(0, 0, 48, 48)\",0,8,0,0,0,0,0,0,0,2", // happy here, NF in fer2013new
            "fer0000005.png,\"(0, 0, 48, 48)\",0,0,0,5,5,0,0,0,0,0", // tie: ignored_label
        ],
    ),
    (
        ferplus::LABEL_FOLDERS[2].0,
        &[
            "fer0000006.png,\"(0, 0, 48, 48)\",0,0,0,0,4,2,1,1,1,1", // anger after outlier removal
            "fer0000007.png,\"(0, 0, 48, 48)\",4,0,0,0,0,0,0,6,0,0", // contempt
        ],
    ),
];

/// FER+ as a FERPlus checkout holds it, with both label sources: `fer2013new.csv` next to the
/// Kaggle `fer2013.csv`, the committed `data/FER2013{Train,Valid,Test}/label.csv`
/// ([`FERPLUS_LABEL_FILES`]), and one image `generate_training_data.py` wrote
/// (`data/FER2013Train/fer0000008.png`, grey 200). [`FERPLUS_ROWS`] rows in both CSVs.
///
/// Traps of `fer2013new.csv` (the `fer2013new` source): an empty image name (a non-face,
/// ignored_label); a duplicated name (one sample, the last row's; duplicate_id) and names that lag
/// their row index (the join is by position); unknown and not-a-face majorities and a 5/5 tie
/// (ignored_label); a vote distribution that needs outlier removal; a non-numeric vote
/// (malformed_row); a FER2013 row with 2,303 values (malformed_row). Kept: 4 rows.
///
/// Traps of the `label.csv` files (the default `label-csv` source): other vote versions than
/// `fer2013new.csv`; a generated PNG beside rows whose pixels come from `fer2013.csv`; a repeated
/// name, a short row, a name with neither image nor FER2013 row, a broken FER2013 row, unknown and
/// tied majorities. Kept: 6 rows (3 train, 1 val, 2 test).
pub fn ferplus(root: &Path) -> io::Result<()> {
    ferplus_with_fer2013_rows(root, FERPLUS_ROWS)
}

/// The [`ferplus`] tree with `fer_rows` rows in `fer2013.csv` (a count other than
/// [`FERPLUS_ROWS`] is the fatal row-count mismatch of the `fer2013new` source).
pub fn ferplus_with_fer2013_rows(root: &Path, fer_rows: usize) -> io::Result<()> {
    let mut plus = format!("{FERPLUS_HEADER}\n");
    for (usage, name, votes) in FERPLUS_VOTES {
        plus += &format!("{usage},{name},{votes}\n");
    }
    write_file(&root.join(ferplus::FER2013NEW_CSV), plus)?;
    write_file(&root.join(crate::fer2013::FER2013_CSV), ferplus_fer2013_csv(fer_rows))?;
    for (folder, rows) in FERPLUS_LABEL_FILES {
        write_file(&root.join(ferplus::label_csv(folder)), rows.join("\n") + "\n")?;
    }
    let png = Some(ImageFormat::Png);
    write_image(
        &root.join(ferplus::image(ferplus::LABEL_FOLDERS[0].0, "fer0000008.png")),
        &image::GrayImage::from_pixel(48, 48, image::Luma([200])),
        png,
    )
}

// ---------------------------------------------------------------------------------------------
// AffectNet.

/// The header of AffectNet's CSV lists.
pub const AFFECTNET_CSV_HEADER: &str = crate::affectnet::csv::HEADER;

/// The 56-character hash-like file stem of the AffectNet CSV fixture's image `c` (`aaaa…`).
pub fn affectnet_hash(c: char) -> String {
    std::iter::repeat_n(c, 56).collect()
}

/// 68 `x;y` points: point 0 at (14, 9), point 67 at (29, 24), the rest inside the face box.
fn affectnet_landmarks() -> String {
    let mut pts: Vec<(f32, f32)> = (0..68).map(|i| (12.0 + (i % 16) as f32, 6.0 + (i / 4) as f32)).collect();
    pts[0] = (14.0, 9.0);
    pts[67] = (29.0, 24.0);
    pts.iter().map(|(x, y)| format!("{x};{y}")).collect::<Vec<_>>().join(";")
}

/// AffectNet, the original CSV release (`Manually_Annotated_file_lists/{training,validation}.csv`
/// with hash-named images under `Manually_Annotated/Manually_Annotated_Images/<n>/`). Also writes
/// `secret.png` next to `root` (in its parent folder): the file the escaping path points at.
///
/// Traps: CRLF lines and a header in `training.csv`, LF and no header in `validation.csv`; a
/// 40×30 red image with a green 20×20 face box and 68 landmarks (crop and scale); empty landmark
/// fields; a `.JPG` extension; expression 8 (None → other); a repeated row (duplicate_id);
/// expressions 9 and 10 (ignored_label); a negative box width and a box that leaves the image
/// (bad_box); a listed image that is absent (missing_file); a short row (malformed_row); a
/// `../../../secret.png` path (path_escapes_root); expression 11 (unknown_label); valence and
/// arousal -2 (none); a read-me. Kept: 6 rows (4 train, 2 val).
pub fn affectnet_csv(root: &Path) -> io::Result<()> {
    use crate::affectnet::csv::{TRAINING, VALIDATION, image_path, list_path};
    use image::ImageFormat::{Jpeg, Png};
    let outside = root
        .parent()
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the AffectNet root needs a parent folder")
        })?
        .join("secret.png");
    let hash = affectnet_hash;
    let img = |rel: String| root.join(image_path(&rel));
    // Image A: red, with a green face box at (10, 5) size 20×20.
    let mut a = image::RgbImage::from_pixel(40, 30, image::Rgb([220, 0, 0]));
    for y in 5..25 {
        for x in 10..30 {
            a.put_pixel(x, y, image::Rgb([0, 200, 0]));
        }
    }
    write_image(&img(format!("1/{}.jpg", hash('a'))), &a, Some(Jpeg))?;
    write_rgb(&img(format!("1/{}.png", hash('b'))), 40, 30, [10, 20, 30], Some(Png))?;
    write_rgb(&img(format!("2/{}.JPG", hash('c'))), 40, 30, [40, 40, 40], Some(Jpeg))?;
    write_rgb(&img(format!("2/{}.jpg", hash('d'))), 20, 20, [50, 50, 50], Some(Jpeg))?;
    write_rgb(&img(format!("2/{}.jpg", hash('f'))), 20, 20, [60, 60, 60], Some(Jpeg))?;
    write_rgb(&img(format!("1/{}.png", hash('g'))), 20, 20, [70, 70, 70], Some(Png))?;
    write_rgb(&outside, 8, 8, [1, 1, 1], Some(Png))?;
    write_file(&root.join("README.txt"), "AffectNet\n")?;
    write_rgb(&img(format!("1/{}.png", hash('h'))), 40, 30, [80, 80, 80], Some(Png))?;
    write_rgb(&img(format!("2/{}.jpg", hash('i'))), 40, 30, [90, 90, 90], Some(Jpeg))?;
    write_rgb(&img(format!("1/{}.png", hash('j'))), 40, 30, [100, 100, 100], Some(Png))?;
    let (a, b, c, d, e, f, g) = (hash('a'), hash('b'), hash('c'), hash('d'), hash('e'), hash('f'), hash('g'));
    let (h, i, j) = (hash('h'), hash('i'), hash('j'));
    let lm = affectnet_landmarks();
    let training = [
        AFFECTNET_CSV_HEADER.to_string(),
        format!("1/{a}.jpg,10,5,20,20,{lm},1,0.5,-0.25"),
        format!("1/{b}.png,0,0,40,30,,7,0.1,0.2"),
        format!("2/{c}.JPG,2,2,30,20,{lm},8,-0.3,0.4"),
        format!("1/{a}.jpg,10,5,20,20,{lm},1,0.5,-0.25"), // duplicate row
        format!("2/{d}.jpg,0,0,10,10,{lm},9,-2,-2"),      // Uncertain
        format!("2/{d}.jpg,0,0,10,10,{lm},10,-2,-2"),     // Non-Face
        format!("1/{h}.png,5,5,-5,10,,3,0,0"),            // negative width
        format!("2/{i}.jpg,30,0,20,20,,3,0,0"),           // box leaves the image
        format!("3/{e}.jpg,0,0,10,10,,4,0,0"),            // image missing
        format!("1/{a}.jpg,10,5,20"),                     // malformed
        "../../../secret.png,0,0,4,4,,5,0,0".to_string(), // escapes the root
        format!("1/{a}.jpg,10,5,20,20,,11,0,0"),          // not an AffectNet code
        format!("1/{j}.png,0,0,40,30,,2,0,0"),            // sad
        String::new(),
    ];
    write_file(&root.join(list_path(TRAINING)), training.join("\r\n"))?;
    // No header, LF line ends.
    let validation = format!("2/{f}.jpg,0,0,16,16,{lm},0,0.0,0.0\n1/{g}.png,1,1,8,8,,6,-0.5,0.5\n");
    write_file(&root.join(list_path(VALIDATION)), validation)
}

/// A `.npy` (version 1.0) file holding `data` with dtype `descr` and shape `shape`.
fn npy(descr: &str, shape: &str, data: &[u8]) -> io::Result<Vec<u8>> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let len = u16::try_from(h.len()).map_err(|_| io::Error::other("npy header over 65,535 bytes"))?;
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    Ok(out)
}

/// AffectNet, the `.npy` release (`train_set/` and `valid_set/` with `images/<id>.jpg` and
/// `annotations/<id>_{exp,val,aro,lnd}.npy`), 24×24 images.
///
/// Traps: expression stored as `<i8`, `<i4`, `|u1` and as a string (`<U2`); valence `<f8` and
/// arousal `<f4` scalars; landmarks as a flat `(136,)` `<f4` array and a `(68, 2)` `<f8` array; a
/// `.JPG` extension; expression 9 (ignored_label); a truncated `.npy` (malformed_row); an
/// annotation without an image (missing_file); a valence array that is not a scalar
/// (malformed_row); `valid_set/` rather than `val_set/`. Kept: 4 rows (3 train, 1 val).
pub fn affectnet_npy(root: &Path) -> io::Result<()> {
    use crate::affectnet::npy::AnnotationKind::{Arousal, Expression, Landmarks, Valence};
    use crate::affectnet::npy::{AnnotationKind, TRAIN_SET, annotation_path, image_path};
    use image::ImageFormat::{Jpeg, Png};
    let img = |name: &str| root.join(image_path(TRAIN_SET, name));
    let ann = |id: &str, kind: AnnotationKind| root.join(annotation_path(TRAIN_SET, id, kind));
    let i8s = |v: i64| npy("<i8", "()", &v.to_le_bytes());
    write_rgb(&img("0.jpg"), 24, 24, [90, 90, 90], Some(Jpeg))?;
    write_file(&ann("0", Expression), i8s(1)?)?;
    write_file(&ann("0", Valence), npy("<f8", "()", &0.25f64.to_le_bytes())?)?;
    write_file(&ann("0", Arousal), npy("<f4", "()", &(-0.5f32).to_le_bytes())?)?;
    let mut lnd: Vec<f32> = (0..136).map(|i| (i % 24) as f32).collect();
    lnd[0] = 12.0;
    lnd[1] = 6.0;
    let lnd: Vec<u8> = lnd.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_file(&ann("0", Landmarks), npy("<f4", "(136,)", &lnd)?)?;
    write_rgb(&img("1.png"), 24, 24, [91, 91, 91], Some(Png))?;
    let three: Vec<u8> = ['3', '\0'].iter().flat_map(|&c| (c as u32).to_le_bytes()).collect();
    write_file(&ann("1", Expression), npy("<U2", "()", &three)?)?; // a string-typed label
    write_rgb(&img("2.jpg"), 24, 24, [92, 92, 92], Some(Jpeg))?;
    write_file(&ann("2", Expression), i8s(9)?)?;
    write_rgb(&img("3.jpg"), 24, 24, [93, 93, 93], Some(Jpeg))?;
    write_file(&ann("3", Expression), b"\x93NUMPY garbage")?;
    write_file(&ann("4", Expression), i8s(2)?)?; // no image
    write_rgb(&img("5.JPG"), 24, 24, [95, 95, 95], Some(Jpeg))?;
    write_file(&ann("5", Expression), npy("|u1", "()", &[7])?)?;
    let lnd2: Vec<u8> = (0..136).flat_map(|i| f64::from(i % 20).to_le_bytes()).collect();
    write_file(&ann("5", Landmarks), npy("<f8", "(68, 2)", &lnd2)?)?;
    write_rgb(&img("6.jpg"), 24, 24, [96, 96, 96], Some(Jpeg))?;
    write_file(&ann("6", Expression), i8s(0)?)?;
    write_file(&ann("6", Valence), npy("<f8", "(2,)", &[0; 16])?)?; // not a scalar
    let va = "valid_set"; // the trap: not `val_set`
    write_rgb(&root.join(image_path(va, "0.jpg")), 24, 24, [97, 97, 97], Some(Jpeg))?;
    write_file(&root.join(annotation_path(va, "0", Expression)), npy("<i4", "()", &0i32.to_le_bytes())?)
}

/// AffectNet, a folder-per-class redistribution (`<split>/<0..7>/<image>`), 12×12 images.
///
/// Traps: `valid/` for the validation split and a `test/` split; a `.JPG` extension; class
/// folder `9` (ignored_label); a class folder named `happy` (unknown_label); an image directly in
/// `train/` (malformed_name); a `.DS_Store`. Kept: 5 rows (3 train, 1 val, 1 test).
pub fn affectnet_folders(root: &Path) -> io::Result<()> {
    use crate::affectnet::folders::{TEST, TRAIN, image_path};
    use image::ImageFormat::{Jpeg, Png};
    write_rgb(&root.join(image_path(TRAIN, 0, "a.jpg")), 12, 12, [1, 1, 1], Some(Jpeg))?;
    write_rgb(&root.join(image_path(TRAIN, 1, "b.png")), 12, 12, [2, 2, 2], Some(Png))?;
    write_rgb(&root.join(image_path(TRAIN, 7, "c.JPG")), 12, 12, [3, 3, 3], Some(Jpeg))?;
    write_rgb(&root.join(image_path(TRAIN, 9, "d.jpg")), 12, 12, [4, 4, 4], Some(Jpeg))?;
    write_rgb(&root.join("train/happy/e.jpg"), 12, 12, [5, 5, 5], Some(Jpeg))?;
    write_rgb(&root.join("train/stray.jpg"), 12, 12, [6, 6, 6], Some(Jpeg))?;
    write_rgb(&root.join(image_path("valid", 3, "f.jpg")), 12, 12, [7, 7, 7], Some(Jpeg))?; // not `val`
    write_rgb(&root.join(image_path(TEST, 6, "g.png")), 12, 12, [8, 8, 8], Some(Png))?;
    write_file(&root.join("train/.DS_Store"), "x")
}

// ---------------------------------------------------------------------------------------------
// Aff-Wild2.

/// The header of Aff-Wild2's EXPR annotation files.
const AFFWILD2_HEADER: &str = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other";

/// An 8×8 grey JPEG frame.
fn write_frame(path: &Path, value: u8) -> io::Result<()> {
    write_rgb(path, 8, 8, [value; 3], Some(ImageFormat::Jpeg))
}

/// Aff-Wild2, the ABAW EXPR layout (`cropped_aligned/<video>/<frame>.jpg`,
/// `cropped_aligned_new_50_vids/`, `annotations/EXPR_Classification_Challenge/{Train,Validation}_Set/<video>.txt`),
/// 8×8 frames.
///
/// Traps: CRLF and LF files; `-1` lines (ignored_label); a frame with no face file
/// (missing_file); a frame in both crop folders (the first wins, duplicate_id); frames only in the
/// second crop folder; a `_left`/`_right` video pair (separate videos); label 7 (other, never
/// contempt); a non-numeric line (malformed_row) and label 9 (unknown_label); another task's
/// annotations (`VA_Set`) with the same video names (not read); a read-me. Kept: 7 rows (6 train,
/// 1 val).
pub fn affwild2(root: &Path) -> io::Result<()> {
    use crate::affwild2::{CROP_FOLDERS, TRAIN_SET, VALIDATION_SET, annotation, frame};
    let [crop, extra] = CROP_FOLDERS;
    let at = |folder: &str, video: &str, k: u32| root.join(frame(folder, video, k));
    for (f, v) in [(1, 10), (2, 20), (4, 40)] {
        write_frame(&at(crop, "vidA", f), v)?; // frame 3 has no face: no file
    }
    write_frame(&at(extra, "vidA", 4), 240)?; // a second copy: the first folder wins
    write_frame(&at(extra, "vidA", 5), 50)?;
    write_frame(&at(crop, "video2_left", 1), 110)?;
    write_frame(&at(crop, "video2_left", 2), 120)?;
    write_frame(&at(crop, "video2_right", 1), 210)?;
    write_frame(&at(extra, "vidB", 1), 150)?;
    write_frame(&at(extra, "vidB", 2), 160)?;
    let ann = |set: &str, video: &str| root.join(annotation(set, video));
    let lines = |v: &[&str], eol: &str| format!("{AFFWILD2_HEADER}{eol}{}{eol}", v.join(eol));
    write_file(&ann(TRAIN_SET, "vidA"), lines(&["0", "-1", "4", "7", "1", "x", "9"], "\r\n"))?;
    write_file(&ann(TRAIN_SET, "video2_left"), lines(&["5", "6"], "\n"))?;
    write_file(&ann(TRAIN_SET, "video2_right"), lines(&["2"], "\n"))?;
    write_file(&ann(VALIDATION_SET, "vidB"), lines(&["3", "-1"], "\n"))?;
    // Another task's annotations with the same folder names: not read.
    write_file(&root.join("annotations/VA_Set/Train_Set/vidA.txt"), "valence,arousal\n0.1,0.2\n")?;
    write_file(&root.join("README.txt"), "Aff-Wild2\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for f in ALL {
            assert_eq!(by_name(f.name).map(|g| g.name), Some(f.name));
            assert!(crate::adapter::ADAPTERS.contains(&f.adapter), "{}", f.adapter);
            assert_eq!(ALL.iter().filter(|g| g.name == f.name).count(), 1, "{}", f.name);
        }
        assert!(by_name("nope").is_none());
    }

    #[test]
    fn builders_are_deterministic() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let listing = |dir: &Path| -> Vec<(String, Vec<u8>)> {
            let mut v: Vec<_> = walkdir::WalkDir::new(dir)
                .into_iter()
                .map(|e| e.expect("walk"))
                .filter(|e| e.file_type().is_file())
                .map(|e| {
                    let rel = e.path().strip_prefix(dir).expect("under dir").display().to_string();
                    (rel, std::fs::read(e.path()).expect("read"))
                })
                .collect();
            v.sort();
            v
        };
        for f in ALL {
            let (a, b) = (tmp.path().join("a").join(f.name), tmp.path().join("b").join(f.name));
            (f.build)(&a.join(f.root)).expect("build a");
            (f.build)(&b.join(f.root)).expect("build b");
            let (la, lb) = (listing(&a), listing(&b));
            assert!(la.len() >= 2, "{}: {} files", f.name, la.len());
            assert!(la == lb, "{}: two builds differ", f.name);
        }
    }

    #[test]
    fn npy_header_is_aligned() {
        let bytes = npy("<i8", "()", &[0; 8]).expect("npy");
        assert_eq!((bytes.len() - 8) % 64, 0, "header padded to 64 bytes");
        assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
    }

    #[test]
    fn affectnet_csv_needs_a_parent() {
        let err = affectnet_csv(Path::new("/")).expect_err("no parent of /");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
