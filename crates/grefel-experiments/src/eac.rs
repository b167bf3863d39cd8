//! Import of EAC's published RAF-DB noisy label files (`noise01.txt`, `noise02.txt`,
//! `noise03.txt`): whitespace-separated `<image name> <label>` lines in RAF-DB's 1-based label
//! order, like `list_patition_label.txt`. Using them makes noisy-label results comparable with
//! the published ones.

use std::collections::BTreeMap;
use std::path::Path;

use grefel_schema::Label;
use grefel_schema::labels::RAFDB;
use grefel_schema::noise_table::NoisyLabelRecord;

use crate::{ExperimentError, NoiseDraw};

/// What an import matched.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EacImport {
    /// Training samples given a label from the file.
    pub matched: u64,
    /// Training samples the file does not mention (they keep their clean label).
    pub missing_from_file: u64,
    /// File lines naming no training sample of the dataset (test images, other copies).
    pub unknown_names: u64,
}

/// Builds a draw from an EAC file's text over the training samples `train` (id, clean label).
/// Sample ids are `<prefix><image name>` (the RAF-DB adapter's ids are `rafdb:<name>`).
pub fn import(
    path: &Path,
    text: &str,
    prefix: &str,
    train: &[(String, Label)],
) -> Result<(NoiseDraw, EacImport), ExperimentError> {
    let mut file_labels: BTreeMap<String, Label> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let malformed =
            |detail: String| ExperimentError::Malformed { path: path.into(), line: i + 1, detail };
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [] => continue,
            [name, label] => {
                let l = RAFDB
                    .lookup(label)
                    .ok_or_else(|| malformed(format!("label `{label}` is not in 1..7")))?;
                if file_labels.insert(format!("{prefix}{name}"), l).is_some() {
                    return Err(malformed(format!("`{name}` appears twice")));
                }
            }
            _ => return Err(malformed(format!("expected `<image name> <label>`, got `{}`", line.trim()))),
        }
    }
    let mut stats = EacImport::default();
    let mut records = Vec::with_capacity(train.len());
    for (id, clean) in train {
        let noisy = match file_labels.remove(id) {
            Some(l) => {
                stats.matched += 1;
                l
            }
            None => {
                stats.missing_from_file += 1;
                *clean
            }
        };
        records.push(NoisyLabelRecord {
            sample_id: id.clone(),
            clean_label: clean.id(),
            noisy_label: noisy.id(),
            flipped: noisy != *clean,
        });
    }
    stats.unknown_names = file_labels.len() as u64;
    Ok((NoiseDraw::from_records(records), stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_schema::Expression;

    #[test]
    fn imports_and_counts() {
        let train = vec![
            ("rafdb:train_00001.jpg".to_string(), Label::Class(Expression::Surprise)),
            ("rafdb:train_00002.jpg".to_string(), Label::Class(Expression::Neutral)),
            ("rafdb:train_00003.jpg".to_string(), Label::Class(Expression::Happy)),
        ];
        // RAF order: 1 surprise, 4 happiness, 7 neutral, 6 anger.
        let text = "train_00001.jpg 1\r\ntrain_00002.jpg 6\n\ntest_0001.jpg 4\n";
        let (draw, stats) = import(Path::new("noise01.txt"), text, "rafdb:", &train).expect("import");
        assert_eq!(stats, EacImport { matched: 2, missing_from_file: 1, unknown_names: 1 });
        let noisy = draw.noisy_labels();
        assert_eq!(noisy["rafdb:train_00001.jpg"], 3);
        assert_eq!(noisy["rafdb:train_00002.jpg"], 6, "neutral flipped to anger");
        assert_eq!(noisy["rafdb:train_00003.jpg"], 1, "absent from the file: clean label kept");
        assert!((draw.realised_rate - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(draw.per_class["neutral"].flipped, 1);

        let bad = import(Path::new("n.txt"), "a.jpg 9\n", "rafdb:", &train).expect_err("label 9");
        assert!(bad.to_string().contains("n.txt:1"), "{bad}");
        assert!(import(Path::new("n.txt"), "a.jpg\n", "rafdb:", &train).is_err());
        assert!(import(Path::new("n.txt"), "a.jpg 1\na.jpg 2\n", "rafdb:", &train).is_err());
    }
}
