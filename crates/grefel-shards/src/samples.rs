//! Writing and reading `samples` shards.
//!
//! A shard is one Parquet file with one row group, the `samples` schema, Snappy compression for
//! the small columns and none for the already-compressed `image` column, and key-value metadata
//! (`grefel.schema` plus whatever the writer adds: the shard's plan key and statistics, so a
//! resumed job can trust a finished shard without reading its rows).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, FixedSizeListBuilder, Float32Builder, Int16Builder, Int32Builder, StringBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int16Type, Int32Type};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, RecordBatch};
use arrow_schema::{DataType, Field};
use grefel_schema::labels::{Label, NUM_CANONICAL};
use grefel_schema::table::{Attributes, NUM_LANDMARKS, SAMPLES_TABLE, SampleRecord, Split, samples_schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::ShardError;

fn float_list(len: usize) -> FixedSizeListBuilder<Float32Builder> {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    FixedSizeListBuilder::with_capacity(Float32Builder::new(), len as i32, 0).with_field(item)
}

fn append_floats(b: &mut FixedSizeListBuilder<Float32Builder>, len: usize, values: Option<&[f32]>) {
    match values {
        Some(v) => {
            b.values().append_slice(v);
            b.append(true);
        }
        None => {
            // A null entry still occupies `len` child slots.
            b.values().append_slice(&vec![0.0; len]);
            b.append(false);
        }
    }
}

/// Builds the Arrow batch of `records` in the `samples` schema.
pub fn to_batch(records: &[SampleRecord]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let n = records.len();
    let mut sample_id = StringBuilder::with_capacity(n, n * 32);
    let mut dataset = StringBuilder::with_capacity(n, n * 8);
    let mut split = StringBuilder::with_capacity(n, n * 5);
    let mut label = Int16Builder::with_capacity(n);
    let image_bytes = records.iter().map(|r| r.image.len()).sum();
    let mut image = BinaryBuilder::with_capacity(n, image_bytes);
    let mut width = Int32Builder::with_capacity(n);
    let mut height = Int32Builder::with_capacity(n);
    let mut source_path = StringBuilder::with_capacity(n, n * 32);
    let mut subject = StringBuilder::with_capacity(n, n * 8);
    let mut bbox = float_list(4);
    let mut landmarks = float_list(2 * NUM_LANDMARKS);
    let mut soft = float_list(NUM_CANONICAL);
    let mut landmarks5 = float_list(10);
    let mut valence = Float32Builder::with_capacity(n);
    let mut arousal = Float32Builder::with_capacity(n);
    let mut gender = StringBuilder::new();
    let mut race = StringBuilder::new();
    let mut age_group = StringBuilder::new();
    for r in records {
        sample_id.append_value(&r.sample_id);
        dataset.append_value(&r.dataset);
        split.append_value(r.split.as_str());
        label.append_value(r.label.id());
        image.append_value(&r.image);
        width.append_value(dimension(r.width)?);
        height.append_value(dimension(r.height)?);
        source_path.append_value(&r.source_path);
        subject.append_option(r.subject.as_deref());
        append_floats(&mut bbox, 4, r.bbox.as_ref().map(|b| &b[..]));
        append_floats(&mut landmarks, 2 * NUM_LANDMARKS, r.landmarks.as_ref().map(|l| l.as_flattened()));
        append_floats(&mut soft, NUM_CANONICAL, r.soft_label.as_ref().map(|s| &s[..]));
        let a = &r.attributes;
        append_floats(&mut landmarks5, 10, a.landmarks5.as_ref().map(|l| l.as_flattened()));
        valence.append_option(a.valence);
        arousal.append_option(a.arousal);
        gender.append_option(a.gender.as_deref());
        race.append_option(a.race.as_deref());
        age_group.append_option(a.age_group.as_deref());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(sample_id.finish()),
        Arc::new(dataset.finish()),
        Arc::new(split.finish()),
        Arc::new(label.finish()),
        Arc::new(image.finish()),
        Arc::new(width.finish()),
        Arc::new(height.finish()),
        Arc::new(source_path.finish()),
        Arc::new(subject.finish()),
        Arc::new(bbox.finish()),
        Arc::new(landmarks.finish()),
        Arc::new(soft.finish()),
        Arc::new(landmarks5.finish()),
        Arc::new(valence.finish()),
        Arc::new(arousal.finish()),
        Arc::new(gender.finish()),
        Arc::new(race.finish()),
        Arc::new(age_group.finish()),
    ];
    RecordBatch::try_new(Arc::new(samples_schema()), columns)
}

fn dimension(v: u32) -> Result<i32, arrow_schema::ArrowError> {
    i32::try_from(v)
        .map_err(|_| arrow_schema::ArrowError::InvalidArgumentError(format!("image dimension {v} too large")))
}

/// [`crate::table_io::base_properties`], with the image column stored as is: PNG bytes neither
/// compress nor have useful statistics or dictionary entries.
fn writer_properties(extra: &BTreeMap<String, String>) -> WriterProperties {
    let image = ColumnPath::from("image");
    crate::table_io::base_properties(extra)
        .set_column_compression(image.clone(), Compression::UNCOMPRESSED)
        .set_column_dictionary_enabled(image.clone(), false)
        .set_column_statistics_enabled(image, EnabledStatistics::None)
        .build()
}

/// Writes `records` as one `samples` shard at `path`, atomically; `extra` is added to the
/// file's key-value metadata. Returns the SHA-256 of the written file.
pub fn write_shard(
    path: &Path,
    records: &[SampleRecord],
    extra: &BTreeMap<String, String>,
) -> Result<String, ShardError> {
    let batch = to_batch(records).map_err(|source| ShardError::Arrow { path: path.into(), source })?;
    crate::table_io::write_batch(path, &batch, writer_properties(extra))
}

/// [`write_shard`] up to the sync: the shard waits at its temporary path until the returned
/// [`crate::atomic::Pending`] is committed (by a thread that may wait for the disk).
pub fn write_shard_pending(
    path: &Path,
    records: &[SampleRecord],
    extra: &BTreeMap<String, String>,
) -> Result<(String, crate::atomic::Pending), ShardError> {
    let batch = to_batch(records).map_err(|source| ShardError::Arrow { path: path.into(), source })?;
    crate::table_io::write_batch_pending(path, &batch, writer_properties(extra))
}

/// The key-value metadata of a shard, read from its footer only.
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>, ShardError> {
    crate::table_io::read_metadata(path)
}

/// Reads every row of a `samples` shard.
pub fn read_shard(path: &Path) -> Result<Vec<SampleRecord>, ShardError> {
    let file = File::open(path).map_err(ShardError::io("open", path))?;
    let parquet_err = |source| ShardError::Parquet { path: path.into(), source };
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_err)?.build().map_err(parquet_err)?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|source| ShardError::Arrow { path: path.into(), source })?;
        decode_batch(path, &batch, &mut out)?;
    }
    Ok(out)
}

fn decode_batch(path: &Path, batch: &RecordBatch, out: &mut Vec<SampleRecord>) -> Result<(), ShardError> {
    let invalid = |detail: String| ShardError::Invalid { path: path.into(), table: SAMPLES_TABLE, detail };
    let expected = samples_schema();
    if batch.schema().fields() != expected.fields() {
        return Err(invalid(format!("columns {:?}", batch.schema().fields())));
    }
    let col = |i: usize| batch.column(i);
    let sample_id = col(0).as_string::<i32>();
    let dataset = col(1).as_string::<i32>();
    let split = col(2).as_string::<i32>();
    let label = col(3).as_primitive::<Int16Type>();
    let image = col(4).as_binary::<i32>();
    let width = col(5).as_primitive::<Int32Type>();
    let height = col(6).as_primitive::<Int32Type>();
    let source_path = col(7).as_string::<i32>();
    let subject = col(8).as_string::<i32>();
    let bbox = col(9).as_fixed_size_list();
    let landmarks = col(10).as_fixed_size_list();
    let soft = col(11).as_fixed_size_list();
    let landmarks5 = col(12).as_fixed_size_list();
    let valence = col(13).as_primitive::<Float32Type>();
    let arousal = col(14).as_primitive::<Float32Type>();
    let gender = col(15).as_string::<i32>();
    let race = col(16).as_string::<i32>();
    let age_group = col(17).as_string::<i32>();
    let text = |a: &arrow_array::StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
    for i in 0..batch.num_rows() {
        let split_name = split.value(i);
        let split =
            Split::parse(split_name).ok_or_else(|| invalid(format!("row {i}: split `{split_name}`")))?;
        let label = Label::from_id(label.value(i))
            .ok_or_else(|| invalid(format!("row {i}: label {}", label.value(i))))?;
        let dim = |v: i32| u32::try_from(v).map_err(|_| invalid(format!("row {i}: dimension {v}")));
        out.push(SampleRecord {
            sample_id: sample_id.value(i).to_string(),
            dataset: dataset.value(i).to_string(),
            split,
            label,
            image: image.value(i).to_vec(),
            width: dim(width.value(i))?,
            height: dim(height.value(i))?,
            source_path: source_path.value(i).to_string(),
            subject: subject.is_valid(i).then(|| subject.value(i).to_string()),
            bbox: floats::<4>(bbox, i),
            landmarks: floats::<{ 2 * NUM_LANDMARKS }>(landmarks, i).map(|flat| {
                let mut pts = Box::new([[0f32; 2]; NUM_LANDMARKS]);
                for (p, xy) in pts.iter_mut().zip(flat.chunks_exact(2)) {
                    *p = [xy[0], xy[1]];
                }
                pts
            }),
            soft_label: floats::<NUM_CANONICAL>(soft, i),
            attributes: Attributes {
                landmarks5: floats::<10>(landmarks5, i).map(|f| {
                    let mut pts = [[0f32; 2]; 5];
                    for (p, xy) in pts.iter_mut().zip(f.chunks_exact(2)) {
                        *p = [xy[0], xy[1]];
                    }
                    pts
                }),
                valence: valence.is_valid(i).then(|| valence.value(i)),
                arousal: arousal.is_valid(i).then(|| arousal.value(i)),
                gender: text(gender, i),
                race: text(race, i),
                age_group: text(age_group, i),
            },
        });
    }
    Ok(())
}

fn floats<const N: usize>(list: &FixedSizeListArray, i: usize) -> Option<[f32; N]> {
    if list.is_null(i) {
        return None;
    }
    let values = list.value(i);
    let values = values.as_primitive::<Float32Type>();
    let mut out = [0f32; N];
    out.copy_from_slice(values.values());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_schema::Expression;

    fn record(i: usize) -> SampleRecord {
        let mut lm = Box::new([[0f32; 2]; NUM_LANDMARKS]);
        for (k, p) in lm.iter_mut().enumerate() {
            *p = [k as f32 + 0.25, i as f32 * 2.0];
        }
        SampleRecord {
            sample_id: format!("t:{i}"),
            dataset: "t".into(),
            split: Split::ALL[i % 3],
            label: if i == 4 { Label::Ignore } else { Label::Class(Expression::BASIC[i % 7]) },
            image: vec![i as u8; 10 + i],
            width: 64,
            height: 48 + i as u32,
            source_path: format!("dir/{i}.png"),
            subject: i.is_multiple_of(2).then(|| format!("s{i}")),
            bbox: i.is_multiple_of(3).then_some([1.0, 2.0, 30.5, 40.0]),
            landmarks: (i % 2 == 1).then_some(lm),
            soft_label: (i == 2).then(|| {
                let mut s = [0f32; NUM_CANONICAL];
                s[1] = 0.75;
                s[7] = 0.25;
                s
            }),
            attributes: if i == 5 {
                Attributes {
                    landmarks5: Some([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.5]]),
                    valence: Some(-0.5),
                    arousal: Some(0.25),
                    gender: Some("female".into()),
                    race: Some("asian".into()),
                    age_group: Some("20-39".into()),
                }
            } else {
                Attributes::default()
            },
        }
    }

    #[test]
    fn round_trip_with_metadata() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("split/part-00000.parquet");
        let records: Vec<SampleRecord> = (0..9).map(record).collect();
        let extra: BTreeMap<String, String> = [("grefel.shard_key".to_string(), "abc".to_string())].into();
        let hash = write_shard(&path, &records, &extra).expect("write");
        assert_eq!(hash, crate::hash::sha256_file(&path).expect("hash"));
        assert_eq!(read_shard(&path).expect("read"), records);
        let meta = read_metadata(&path).expect("meta");
        assert_eq!(meta.get("grefel.shard_key").map(String::as_str), Some("abc"));
        // Same rows, same bytes.
        let again = dir.path().join("again.parquet");
        assert_eq!(write_shard(&again, &records, &extra).expect("write"), hash);
        let empty = dir.path().join("empty.parquet");
        write_shard(&empty, &[], &extra).expect("write empty");
        assert!(read_shard(&empty).expect("read empty").is_empty());
    }

    #[test]
    fn garbage_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.parquet");
        std::fs::write(&path, b"PAR1 not really").expect("write");
        assert!(matches!(read_shard(&path), Err(ShardError::Parquet { .. })));
        assert!(read_metadata(&path).is_err());
        assert!(matches!(read_shard(&dir.path().join("none.parquet")), Err(ShardError::Io { .. })));
    }
}
