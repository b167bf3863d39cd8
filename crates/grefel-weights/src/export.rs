//! The network's weights out, as safetensors: in POSTER++'s `state_dict` naming (keys, shapes and
//! dtypes that `load_state_dict(..., strict=True)` accepts in its authors' code) or in grefel's
//! own paths. Both use PyTorch's layouts: linear weights `[out, in]`, norm parameters
//! `weight`/`bias` (burn-store's PyTorch adapter), PReLU slopes `weight`.

use std::collections::{BTreeMap, HashMap};

use burn::store::burn_pack::Tensor;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, DType};
use grefel_model::Grefel;
use grefel_model::config::ModelConfig;

use crate::WeightsError;
use crate::keys::poster_name;

/// The names an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
    /// POSTER++'s `state_dict` keys (Talented-Q/POSTER_V2), for its `poster` presets.
    Poster,
    /// grefel's own tensor paths, for any preset.
    Grefel,
}

impl std::str::FromStr for Names {
    type Err = WeightsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "poster" => Ok(Names::Poster),
            "grefel" => Ok(Names::Grefel),
            other => Err(WeightsError::Export { reason: format!("names `{other}`: poster or grefel") }),
        }
    }
}

/// What [`export`] writes.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The naming.
    pub names: Names,
    /// The file's classifier order (POSTER naming): its output `k` is the network's class
    /// `class_order[k]`, as on import. `None`: the network's order.
    pub class_order: Option<Vec<usize>>,
    /// Tensors POSTER has and the network does not (an imported checkpoint's, by POSTER key): written
    /// back where their shape and type fit; the others are filled (zeros, ones for norm scales
    /// and running variances, the attention's index buffers computed).
    pub extras: Vec<Tensor>,
    /// Header metadata (`format: pt` is always added).
    pub metadata: BTreeMap<String, String>,
}

impl ExportOptions {
    /// Options for `names` and nothing else.
    pub fn new(names: Names) -> Self {
        Self { names, class_order: None, extras: Vec::new(), metadata: BTreeMap::new() }
    }
}

/// A written export.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The safetensors file.
    pub bytes: Vec<u8>,
    /// Tensors written.
    pub tensors: usize,
    /// Of which from the network.
    pub from_network: usize,
    /// Of which from [`ExportOptions::extras`].
    pub kept: usize,
    /// Of which filled.
    pub filled: usize,
    /// Network tensors POSTER has no counterpart of (the reliability head's), by pattern.
    pub dropped: Vec<(String, usize)>,
}

/// Whether `config` computes POSTER++'s network (its `poster` / `poster-8` presets, whatever
/// their training switches).
pub fn is_poster(config: &ModelConfig) -> bool {
    let reference = ModelConfig::poster().with_num_classes(config.num_classes);
    let mut c = config.clone();
    c.ir50.frozen = reference.ir50.frozen;
    c.landmark.mobilefacenet.frozen = reference.landmark.mobilefacenet.frozen;
    c.landmark.geometry = reference.landmark.geometry.clone();
    c.frozen_batch_norm = reference.frozen_batch_norm;
    c.head.dropout = reference.head.dropout;
    c.reliability = reference.reliability.clone();
    c.loss = reference.loss.clone();
    c.eval_resize = reference.eval_resize;
    c == reference
}

/// The network's weights as a safetensors file.
pub fn export(model: &Grefel, options: &ExportOptions) -> Result<Exported, WeightsError> {
    let err = |reason: String| WeightsError::Export { reason };
    if options.names == Names::Poster && !is_poster(&model.config) {
        return Err(err(
            "--names poster needs a network POSTER++ computes (a poster or poster-8 preset run); \
             this one differs (reduction, head, trunks or sizes): use --names grefel"
                .into(),
        ));
    }
    let tensors = model.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true);
    let mut out: Vec<Tensor> = Vec::with_capacity(tensors.len() + 128);
    let mut dropped: Vec<String> = Vec::new();
    for mut t in tensors {
        match options.names {
            Names::Grefel => out.push(t),
            Names::Poster => match poster_name(&t.name) {
                Some(key) => {
                    let head = key.starts_with("VIT.head.linear.");
                    t.name = key;
                    match (&options.class_order, head) {
                        (Some(order), true) => out.push(gather_rows(t, order)?),
                        _ => out.push(t),
                    }
                }
                None => dropped.push(t.name.clone()),
            },
        }
    }
    let from_network = out.len();
    let (mut kept, mut filled) = (0, 0);
    if options.names == Names::Poster {
        let mut extras: HashMap<&str, &Tensor> =
            options.extras.iter().map(|t| (t.name.as_str(), t)).collect();
        let mut counters: Vec<String> = out
            .iter()
            .filter_map(|t| t.name.strip_suffix(".running_mean").map(|p| format!("{p}.num_batches_tracked")))
            .collect();
        let mut added = Vec::new();
        for extra in poster_extras(&model.config)? {
            if extra.key.ends_with(".running_mean") {
                counters.push(extra.key.replace(".running_mean", ".num_batches_tracked"));
            }
            added.push(extra);
        }
        for key in counters {
            added.push(Extra { key, dtype: DType::I64, shape: Vec::new(), fill: Fill::Zeros });
        }
        for extra in added {
            match extras.remove(extra.key.as_str()) {
                Some(t) if t.dtype == extra.dtype && t.shape.to_vec() == extra.shape => {
                    out.push(t.clone());
                    kept += 1;
                }
                _ => {
                    out.push(extra.tensor());
                    filled += 1;
                }
            }
        }
    }
    let tensors = out.len();
    let mut metadata: HashMap<String, String> = options.metadata.clone().into_iter().collect();
    metadata.insert("format".into(), "pt".into());
    let bytes = crate::safetensors::write(out, metadata)?;
    Ok(Exported {
        bytes,
        tensors,
        from_network,
        kept,
        filled,
        dropped: crate::import::by_pattern(dropped.iter().map(String::as_str)),
    })
}

/// `tensor` (the network's classifier rows) in the file's order: row `k` is the network's row
/// `order[k]`.
fn gather_rows(tensor: Tensor, order: &[usize]) -> Result<Tensor, WeightsError> {
    let rows = tensor.shape.first().copied().unwrap_or(0);
    crate::import::permute_rows(tensor, order, false).ok_or_else(|| WeightsError::Export {
        reason: format!("class order {order:?} is not a permutation of the {rows} outputs"),
    })
}

/// How a filled tensor is filled.
#[derive(Clone, Debug)]
enum Fill {
    Zeros,
    Ones,
    /// Swin's relative position index of a `w × w` window.
    RelativeIndex(usize),
}

/// A tensor of POSTER's `state_dict` that the network does not have.
#[derive(Clone, Debug)]
struct Extra {
    key: String,
    dtype: DType,
    shape: Vec<usize>,
    fill: Fill,
}

impl Extra {
    fn f32(key: &str, shape: &[usize], fill: Fill) -> Self {
        Self { key: key.to_string(), dtype: DType::F32, shape: shape.to_vec(), fill }
    }

    fn tensor(&self) -> Tensor {
        let n: usize = self.shape.iter().product();
        let bytes: Vec<u8> = match (&self.fill, self.dtype) {
            (Fill::RelativeIndex(w), _) => {
                relative_position_index(*w).iter().flat_map(|v| v.to_le_bytes()).collect()
            }
            (Fill::Zeros, _) => vec![0u8; n * self.dtype.size()],
            (Fill::Ones, _) => (0..n).flat_map(|_| 1f32.to_le_bytes()).collect(),
        };
        Tensor::new(self.key.clone(), self.dtype, self.shape.clone(), None, Bytes::from_bytes_vec(bytes))
    }
}

/// The relative position index of a `w × w` window (Swin's, as POSTER's window attention
/// registers it): `(dy + w − 1)·(2w − 1) + (dx + w − 1)` for every pair of positions.
pub fn relative_position_index(w: usize) -> Vec<i64> {
    let n = w * w;
    let mut out = Vec::with_capacity(n * n);
    for a in 0..n {
        for b in 0..n {
            let dy = (a / w) as i64 - (b / w) as i64 + w as i64 - 1;
            let dx = (a % w) as i64 - (b % w) as i64 + w as i64 - 1;
            out.push(dy * (2 * w as i64 - 1) + dx);
        }
    }
    out
}

/// A BatchNorm's four tensors (`num_batches_tracked` is added for every `running_mean`).
fn batch_norm(prefix: &str, c: usize) -> [Extra; 4] {
    [
        Extra::f32(&format!("{prefix}.weight"), &[c], Fill::Ones),
        Extra::f32(&format!("{prefix}.bias"), &[c], Fill::Zeros),
        Extra::f32(&format!("{prefix}.running_mean"), &[c], Fill::Zeros),
        Extra::f32(&format!("{prefix}.running_var"), &[c], Fill::Ones),
    ]
}

/// The tensors POSTER builds and never runs (both trunks' output layers, the ViT's unused
/// patch embedding, ECA block, `CON1`, `IRLinear1/2` and per-block token convolutions), and the
/// attention's index buffers.
fn poster_extras(config: &ModelConfig) -> Result<Vec<Extra>, WeightsError> {
    let dim = config.vit.dim;
    let geometry = config.geometry().map_err(|e| WeightsError::Export { reason: e.to_string() })?;
    let tokens = geometry.num_tokens + 1;
    let mut out = Vec::new();
    out.extend(batch_norm("ir_back.output_layer.0", 512));
    out.push(Extra::f32("ir_back.output_layer.3.weight", &[512, 512 * 7 * 7], Fill::Zeros));
    out.push(Extra::f32("ir_back.output_layer.3.bias", &[512], Fill::Zeros));
    out.extend(batch_norm("ir_back.output_layer.4", 512));
    out.push(Extra::f32("face_landback.output_layer.conv_6_dw.conv.weight", &[512, 1, 7, 7], Fill::Zeros));
    out.extend(batch_norm("face_landback.output_layer.conv_6_dw.bn", 512));
    out.push(Extra::f32("face_landback.output_layer.linear.weight", &[136, 512], Fill::Zeros));
    out.extend(batch_norm("face_landback.output_layer.bn", 136));
    out.push(Extra::f32("VIT.patch_embed.proj.weight", &[dim, 256, 1, 1], Fill::Zeros));
    out.push(Extra::f32("VIT.patch_embed.proj.bias", &[dim], Fill::Zeros));
    out.push(Extra::f32("VIT.eca_block.conv.weight", &[1, 1, 5], Fill::Zeros));
    out.push(Extra::f32("VIT.CON1.weight", &[dim, 256, 1, 1], Fill::Zeros));
    out.push(Extra::f32("VIT.IRLinear1.weight", &[dim, 1024], Fill::Zeros));
    out.push(Extra::f32("VIT.IRLinear1.bias", &[dim], Fill::Zeros));
    out.push(Extra::f32("VIT.IRLinear2.weight", &[512, dim], Fill::Zeros));
    out.push(Extra::f32("VIT.IRLinear2.bias", &[512], Fill::Zeros));
    for j in 0..config.vit.depth {
        out.push(Extra::f32(&format!("VIT.blocks.{j}.conv.weight"), &[tokens, tokens, 1], Fill::Zeros));
        out.push(Extra::f32(&format!("VIT.blocks.{j}.conv.bias"), &[tokens], Fill::Zeros));
    }
    for (i, &w) in geometry.windows.iter().enumerate() {
        out.push(Extra {
            key: format!("attn{}.relative_position_index", i + 1),
            dtype: DType::I64,
            shape: vec![w * w, w * w],
            fill: Fill::RelativeIndex(w),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_index_matches_swin() {
        // w = 2: positions (0,0) (0,1) (1,0) (1,1); index = (dy + 1)·3 + (dx + 1).
        assert_eq!(relative_position_index(2), vec![4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4]);
        let idx = relative_position_index(7);
        assert_eq!(idx.len(), 49 * 49);
        assert_eq!(idx.iter().max(), Some(&(13 * 13 - 1)));
    }
}
