//! Table-agnostic Parquet I/O: one record batch written atomically as one file with one row
//! group (Snappy) and extra key-value metadata; all batches of a file read back.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::{ShardError, atomic};

/// Writer properties shared by every table: Snappy, one row group per file, `extra` metadata.
pub fn base_properties(extra: &BTreeMap<String, String>) -> WriterPropertiesBuilder {
    let kv = extra.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect::<Vec<_>>();
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(usize::MAX))
        .set_key_value_metadata(Some(kv))
}

/// Writes `batch` to `path` atomically with `props`; returns the file's SHA-256 (hashed as the
/// bytes are written).
pub fn write_batch(path: &Path, batch: &RecordBatch, props: WriterProperties) -> Result<String, ShardError> {
    let (sha, pending) = write_batch_pending(path, batch, props)?;
    pending.commit()?;
    Ok(sha)
}

/// [`write_batch`] up to the sync: the file waits at its temporary path until the returned
/// [`atomic::Pending`] is committed.
pub fn write_batch_pending(
    path: &Path,
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<(String, atomic::Pending), ShardError> {
    atomic::write_pending(path, |file| {
        let parquet_err = |source| ShardError::Parquet { path: path.into(), source };
        let mut writer =
            ArrowWriter::try_new(crate::hash::HashingWriter::new(&mut *file), batch.schema(), Some(props))
                .map_err(parquet_err)?;
        writer.write(batch).map_err(parquet_err)?;
        let hashing = writer.into_inner().map_err(parquet_err)?;
        Ok(hashing.hex_digest())
    })
}

/// Reads every record batch of a Parquet file.
pub fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, ShardError> {
    let file = File::open(path).map_err(ShardError::io("open", path))?;
    let parquet_err = |source| ShardError::Parquet { path: path.into(), source };
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_err)?.build().map_err(parquet_err)?;
    reader.map(|b| b.map_err(|source| ShardError::Arrow { path: path.into(), source })).collect()
}

/// The key-value metadata of a Parquet file of any table, read from its footer only.
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>, ShardError> {
    let file = File::open(path).map_err(ShardError::io("open", path))?;
    let reader = SerializedFileReader::new(file)
        .map_err(|source| ShardError::Parquet { path: path.into(), source })?;
    let kv = reader.metadata().file_metadata().key_value_metadata().cloned().unwrap_or_default();
    Ok(kv.into_iter().filter_map(|k| Some((k.key, k.value?))).collect())
}
