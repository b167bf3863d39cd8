//! Writing and reading `landmarks` shards ([`grefel_schema::landmarks_table::LandmarkRecord`]).
//!
//! One Parquet file, one row group, Snappy compression, and key-value metadata (`grefel.schema`
//! plus whatever the writer adds, such as the landmark stage's plan key and statistics).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{FixedSizeListBuilder, Float32Builder, Int32Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int32Type};
use arrow_array::{ArrayRef, FixedSizeListArray, RecordBatch};
use arrow_schema::{DataType, Field};
use grefel_schema::landmarks_table::{
    BoxSource, LANDMARKS_TABLE, LandmarkRecord, LandmarkSource, Quality, landmarks_schema,
};
use grefel_schema::table::{NUM_LANDMARKS, Split};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::ShardError;

fn float_list(len: usize, capacity: usize) -> FixedSizeListBuilder<Float32Builder> {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    FixedSizeListBuilder::with_capacity(Float32Builder::with_capacity(len * capacity), len as i32, capacity)
        .with_field(item)
}

fn dimension(v: u32) -> Result<i32, arrow_schema::ArrowError> {
    i32::try_from(v)
        .map_err(|_| arrow_schema::ArrowError::InvalidArgumentError(format!("image dimension {v} too large")))
}

/// Builds the Arrow batch of `records` in the `landmarks` schema.
pub fn to_batch(records: &[LandmarkRecord]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let n = records.len();
    let mut sample_id = StringBuilder::with_capacity(n, n * 32);
    let mut dataset = StringBuilder::with_capacity(n, n * 8);
    let mut split = StringBuilder::with_capacity(n, n * 5);
    let mut width = Int32Builder::with_capacity(n);
    let mut height = Int32Builder::with_capacity(n);
    let mut landmarks = float_list(2 * NUM_LANDMARKS, n);
    let mut bbox = float_list(4, n);
    let mut source = StringBuilder::with_capacity(n, n * 8);
    let mut box_source = StringBuilder::with_capacity(n, n * 8);
    let mut quality = StringBuilder::with_capacity(n, n * 4);
    for r in records {
        sample_id.append_value(&r.sample_id);
        dataset.append_value(&r.dataset);
        split.append_value(r.split.as_str());
        width.append_value(dimension(r.width)?);
        height.append_value(dimension(r.height)?);
        landmarks.values().append_slice(r.landmarks.as_flattened());
        landmarks.append(true);
        bbox.values().append_slice(&r.bbox);
        bbox.append(true);
        source.append_value(r.source.as_str());
        box_source.append_value(r.box_source.as_str());
        quality.append_value(r.quality.as_str());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(sample_id.finish()),
        Arc::new(dataset.finish()),
        Arc::new(split.finish()),
        Arc::new(width.finish()),
        Arc::new(height.finish()),
        Arc::new(landmarks.finish()),
        Arc::new(bbox.finish()),
        Arc::new(source.finish()),
        Arc::new(box_source.finish()),
        Arc::new(quality.finish()),
    ];
    RecordBatch::try_new(Arc::new(landmarks_schema()), columns)
}

/// Writes `records` as one `landmarks` shard at `path`, atomically; `extra` is added to the
/// file's key-value metadata. Returns the SHA-256 of the written file.
pub fn write_shard(
    path: &Path,
    records: &[LandmarkRecord],
    extra: &BTreeMap<String, String>,
) -> Result<String, ShardError> {
    let (sha, pending) = write_shard_pending(path, records, extra)?;
    pending.commit()?;
    Ok(sha)
}

/// [`write_shard`] up to the sync: the shard waits at its temporary path until the returned
/// [`crate::atomic::Pending`] is committed.
pub fn write_shard_pending(
    path: &Path,
    records: &[LandmarkRecord],
    extra: &BTreeMap<String, String>,
) -> Result<(String, crate::atomic::Pending), ShardError> {
    let batch = to_batch(records).map_err(|source| ShardError::Arrow { path: path.into(), source })?;
    crate::table_io::write_batch_pending(path, &batch, crate::table_io::base_properties(extra).build())
}

/// The key-value metadata of a `landmarks` shard, read from its footer only.
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>, ShardError> {
    crate::samples::read_metadata(path)
}

/// Reads every row of a `landmarks` shard.
pub fn read_shard(path: &Path) -> Result<Vec<LandmarkRecord>, ShardError> {
    let file = File::open(path).map_err(ShardError::io("open", path))?;
    let parquet_err = |source| ShardError::Parquet { path: path.into(), source };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_err)?;
    // Checked on the file's schema, so an empty shard of another table is refused too.
    if builder.schema().fields() != landmarks_schema().fields() {
        let detail = format!("columns {:?}", builder.schema().fields());
        return Err(ShardError::Invalid { path: path.into(), table: LANDMARKS_TABLE, detail });
    }
    let reader = builder.build().map_err(parquet_err)?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|source| ShardError::Arrow { path: path.into(), source })?;
        decode_batch(path, &batch, &mut out)?;
    }
    Ok(out)
}

fn decode_batch(path: &Path, batch: &RecordBatch, out: &mut Vec<LandmarkRecord>) -> Result<(), ShardError> {
    let invalid = |detail: String| ShardError::Invalid { path: path.into(), table: LANDMARKS_TABLE, detail };
    if batch.schema().fields() != landmarks_schema().fields() {
        return Err(invalid(format!("columns {:?}", batch.schema().fields())));
    }
    let col = |i: usize| batch.column(i);
    let sample_id = col(0).as_string::<i32>();
    let dataset = col(1).as_string::<i32>();
    let split = col(2).as_string::<i32>();
    let width = col(3).as_primitive::<Int32Type>();
    let height = col(4).as_primitive::<Int32Type>();
    let landmarks = col(5).as_fixed_size_list();
    let bbox = col(6).as_fixed_size_list();
    let source = col(7).as_string::<i32>();
    let box_source = col(8).as_string::<i32>();
    let quality = col(9).as_string::<i32>();
    for i in 0..batch.num_rows() {
        let named = |what: &str, value: &str| invalid(format!("row {i}: {what} `{value}`"));
        let split = Split::parse(split.value(i)).ok_or_else(|| named("split", split.value(i)))?;
        let source =
            LandmarkSource::parse(source.value(i)).ok_or_else(|| named("source", source.value(i)))?;
        let box_source =
            BoxSource::parse(box_source.value(i)).ok_or_else(|| named("box_source", box_source.value(i)))?;
        let quality = Quality::parse(quality.value(i)).ok_or_else(|| named("quality", quality.value(i)))?;
        let dim = |v: i32| u32::try_from(v).map_err(|_| invalid(format!("row {i}: dimension {v}")));
        let flat = floats::<{ 2 * NUM_LANDMARKS }>(landmarks, i);
        let mut points = Box::new([[0f32; 2]; NUM_LANDMARKS]);
        for (p, xy) in points.iter_mut().zip(flat.chunks_exact(2)) {
            *p = [xy[0], xy[1]];
        }
        out.push(LandmarkRecord {
            sample_id: sample_id.value(i).to_string(),
            dataset: dataset.value(i).to_string(),
            split,
            width: dim(width.value(i))?,
            height: dim(height.value(i))?,
            landmarks: points,
            bbox: floats::<4>(bbox, i),
            source,
            box_source,
            quality,
        });
    }
    Ok(())
}

fn floats<const N: usize>(list: &FixedSizeListArray, i: usize) -> [f32; N] {
    let values = list.value(i);
    let values = values.as_primitive::<Float32Type>();
    let mut out = [0f32; N];
    out.copy_from_slice(values.values());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_schema::table::{META_SCHEMA_KEY, TableDefinition};
    use parquet::arrow::arrow_reader::ArrowReaderMetadata;

    fn record(i: usize) -> LandmarkRecord {
        let mut lm = Box::new([[0f32; 2]; NUM_LANDMARKS]);
        for (k, p) in lm.iter_mut().enumerate() {
            *p = [k as f32 + 0.5, i as f32 * 1.25];
        }
        LandmarkRecord {
            sample_id: format!("t:{i}"),
            dataset: "t".into(),
            split: Split::ALL[i % 3],
            width: 48,
            height: 48 + i as u32,
            landmarks: lm,
            bbox: [4.5, 4.5, 43.5, 43.5 + i as f32],
            source: LandmarkSource::ALL[i % LandmarkSource::ALL.len()],
            box_source: BoxSource::ALL[i % BoxSource::ALL.len()],
            quality: Quality::ALL[i % Quality::ALL.len()],
        }
    }

    #[test]
    fn round_trip_with_metadata() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("landmarks/part-00000.parquet");
        let records: Vec<LandmarkRecord> = (0..7).map(record).collect();
        let extra: BTreeMap<String, String> = [("grefel.shard_key".to_string(), "k".to_string())].into();
        let hash = write_shard(&path, &records, &extra).expect("write");
        assert_eq!(read_shard(&path).expect("read"), records);
        let meta = read_metadata(&path).expect("meta");
        assert_eq!(meta.get("grefel.shard_key").map(String::as_str), Some("k"));
        let again = dir.path().join("again.parquet");
        assert_eq!(write_shard(&again, &records, &extra).expect("write"), hash, "same rows, same bytes");
        let empty = dir.path().join("empty.parquet");
        write_shard(&empty, &[], &extra).expect("write empty");
        assert!(read_shard(&empty).expect("read empty").is_empty());
        // A samples shard is not a landmarks shard.
        let samples = dir.path().join("samples.parquet");
        crate::samples::write_shard(&samples, &[], &extra).expect("write samples");
        assert!(matches!(read_shard(&samples), Err(ShardError::Invalid { .. })));
    }

    /// The file the writer produces (not only the schema it starts from) agrees with
    /// `data-schemas/landmarks.toml`.
    #[test]
    fn written_file_agrees_with_definition() {
        let def_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data-schemas/landmarks.toml");
        let text = std::fs::read_to_string(&def_path).expect("definition");
        let def = TableDefinition::parse("landmarks.toml", &text).expect("parses");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.parquet");
        write_shard(&path, &[record(1)], &BTreeMap::new()).expect("write");
        let file = File::open(&path).expect("open");
        let meta = ArrowReaderMetadata::load(&file, Default::default()).expect("footer");
        let schema = meta.schema().as_ref().clone();
        assert_eq!(
            schema.metadata().get(META_SCHEMA_KEY).map(String::as_str),
            Some(format!("{}/{}", def.table, def.version).as_str())
        );
        def.check(&schema).unwrap_or_else(|e| panic!("{e}"));
    }
}
