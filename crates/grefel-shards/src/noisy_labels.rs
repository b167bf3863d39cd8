//! Writing and reading `noisy_labels` files ([`NoisyLabelRecord`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int16Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int16Type;
use arrow_array::{ArrayRef, RecordBatch};
use grefel_schema::noise_table::{NOISY_LABELS_TABLE, NoisyLabelRecord, noisy_labels_schema};

use crate::ShardError;
use crate::table_io::{base_properties, read_batches, write_batch_pending};

/// Writes `records` to `path` atomically; returns the file's SHA-256.
pub fn write(
    path: &Path,
    records: &[NoisyLabelRecord],
    extra: &BTreeMap<String, String>,
) -> Result<String, ShardError> {
    let (sha, pending) = write_pending(path, records, extra)?;
    pending.commit()?;
    Ok(sha)
}

/// [`write`] up to the sync: the file waits at its temporary path until the returned
/// [`crate::atomic::Pending`] is committed.
pub fn write_pending(
    path: &Path,
    records: &[NoisyLabelRecord],
    extra: &BTreeMap<String, String>,
) -> Result<(String, crate::atomic::Pending), ShardError> {
    let n = records.len();
    let mut id = StringBuilder::with_capacity(n, n * 32);
    let mut clean = Int16Builder::with_capacity(n);
    let mut noisy = Int16Builder::with_capacity(n);
    let mut flipped = BooleanBuilder::with_capacity(n);
    for r in records {
        id.append_value(&r.sample_id);
        clean.append_value(r.clean_label);
        noisy.append_value(r.noisy_label);
        flipped.append_value(r.flipped);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(clean.finish()),
        Arc::new(noisy.finish()),
        Arc::new(flipped.finish()),
    ];
    let batch = RecordBatch::try_new(Arc::new(noisy_labels_schema()), columns)
        .map_err(|source| ShardError::Arrow { path: path.into(), source })?;
    write_batch_pending(path, &batch, base_properties(extra).build())
}

/// Reads a `noisy_labels` file.
pub fn read(path: &Path) -> Result<Vec<NoisyLabelRecord>, ShardError> {
    let mut out = Vec::new();
    for batch in read_batches(path)? {
        if batch.schema().fields() != noisy_labels_schema().fields() {
            return Err(ShardError::Invalid {
                path: path.into(),
                table: NOISY_LABELS_TABLE,
                detail: format!("columns {:?}", batch.schema().fields()),
            });
        }
        let id = batch.column(0).as_string::<i32>();
        let clean = batch.column(1).as_primitive::<Int16Type>();
        let noisy = batch.column(2).as_primitive::<Int16Type>();
        let flipped = batch.column(3).as_boolean();
        for i in 0..batch.num_rows() {
            out.push(NoisyLabelRecord {
                sample_id: id.value(i).to_string(),
                clean_label: clean.value(i),
                noisy_label: noisy.value(i),
                flipped: flipped.value(i),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("n.parquet");
        let rows: Vec<NoisyLabelRecord> = (0..5)
            .map(|i| NoisyLabelRecord {
                sample_id: format!("s{i}"),
                clean_label: i,
                noisy_label: (i + i % 2) % 7,
                flipped: i % 2 == 1,
            })
            .collect();
        let sha = write(&path, &rows, &BTreeMap::new()).expect("write");
        assert_eq!(sha.len(), 64);
        assert_eq!(read(&path).expect("read"), rows);
    }
}
