//! The safetensors format (the `safetensors` crate) for burn-store's tensors: what `export`
//! writes and what an import reads back.

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::Path;

use burn::store::burn_pack::Tensor;
use burn::tensor::{Bytes, DType};
use safetensors::{Dtype, SafeTensors, View};

use crate::WeightsError;

/// Whether `file` starts like a safetensors file: a little-endian header length, then `{`.
pub fn is_safetensors(file: &Path) -> bool {
    let mut head = [0u8; 9];
    let Ok(mut f) = std::fs::File::open(file) else { return false };
    if f.read_exact(&mut head).is_err() {
        return false;
    }
    let len = u64::from_le_bytes(head[..8].try_into().unwrap_or([0; 8]));
    head[8] == b'{' && len > 1 && len < 100_000_000
}

fn to_burn(dtype: Dtype) -> Option<DType> {
    Some(match dtype {
        Dtype::F64 => DType::F64,
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I64 => DType::I64,
        Dtype::I32 => DType::I32,
        Dtype::I16 => DType::I16,
        Dtype::I8 => DType::I8,
        Dtype::U64 => DType::U64,
        Dtype::U32 => DType::U32,
        Dtype::U16 => DType::U16,
        Dtype::U8 => DType::U8,
        _ => return None,
    })
}

fn to_safetensors(dtype: DType) -> Option<Dtype> {
    Some(match dtype {
        DType::F64 => Dtype::F64,
        DType::F32 | DType::Flex32 => Dtype::F32,
        DType::F16 => Dtype::F16,
        DType::BF16 => Dtype::BF16,
        DType::I64 => Dtype::I64,
        DType::I32 => Dtype::I32,
        DType::I16 => Dtype::I16,
        DType::I8 => Dtype::I8,
        DType::U64 => Dtype::U64,
        DType::U32 => Dtype::U32,
        DType::U16 => Dtype::U16,
        DType::U8 => Dtype::U8,
        _ => return None,
    })
}

/// Every tensor of a safetensors file, by name.
pub fn read(file: &Path) -> Result<BTreeMap<String, Tensor>, WeightsError> {
    let err = |reason: String| WeightsError::Read { file: file.to_path_buf(), reason };
    let bytes = std::fs::read(file).map_err(|e| err(e.to_string()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| err(format!("safetensors: {e}")))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.iter() {
        let dtype = to_burn(view.dtype())
            .ok_or_else(|| err(format!("{name}: dtype {:?} is not read", view.dtype())))?;
        let data = Bytes::from_bytes_vec(view.data().to_vec());
        out.insert(name.to_string(), Tensor::new(name.to_string(), dtype, view.shape().to_vec(), None, data));
    }
    Ok(out)
}

/// One tensor ready for the writer.
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Bytes,
}

impl View for &Entry {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.data[..])
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// `tensors` as a safetensors file (names sorted, as the format lays them out), with `metadata`
/// in its header.
pub fn write(tensors: Vec<Tensor>, metadata: HashMap<String, String>) -> Result<Vec<u8>, WeightsError> {
    let export_err = |reason: String| WeightsError::Export { reason };
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for t in tensors {
        let dtype =
            to_safetensors(t.dtype).ok_or_else(|| export_err(format!("{}: dtype {:?}", t.name, t.dtype)))?;
        let (name, _, shape, _, data) = t.into_parts().map_err(|e| export_err(e.to_string()))?;
        if entries.insert(name.clone(), Entry { dtype, shape: shape.to_vec(), data }).is_some() {
            return Err(export_err(format!("two tensors named {name}")));
        }
    }
    safetensors::serialize(entries.iter().map(|(k, v)| (k.as_str(), v)), Some(metadata))
        .map_err(|e| export_err(format!("safetensors: {e}")))
}
