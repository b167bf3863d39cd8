//! The names of POSTER++'s weights (Talented-Q/POSTER_V2's `state_dict`, and the two trunk files
//! it starts from) mapped to the paths of the grefel network's tensors.
//!
//! Each function returns the grefel path of a source key, or `None` for a key with no grefel
//! counterpart (a module POSTER builds but never runs, a `num_batches_tracked` counter, a buffer
//! grefel recomputes). The PyTorch adapter of burn-store then transposes linear weights and names
//! norm parameters `gamma`/`beta`, so the paths keep PyTorch's `weight`/`bias` there; PReLU's
//! `weight` is renamed to burn's `alpha` here.

/// The part of the network a source file fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// A whole POSTER++ checkpoint (every tensor but the reliability head's).
    Checkpoint,
    /// The IR-50 image trunk.
    Ir50,
    /// The MobileFaceNet landmark trunk.
    MobileFaceNet,
}

impl Part {
    /// The name used on the command line (`--init ir50=FILE`).
    pub fn name(self) -> &'static str {
        match self {
            Part::Checkpoint => "checkpoint",
            Part::Ir50 => "ir50",
            Part::MobileFaceNet => "mobilefacenet",
        }
    }

    /// The part called `name` (`ir50`, `mobilefacenet`).
    pub fn trunk(name: &str) -> Option<Part> {
        match name {
            "ir50" => Some(Part::Ir50),
            "mobilefacenet" => Some(Part::MobileFaceNet),
            _ => None,
        }
    }

    /// Whether the grefel tensor at `path` belongs to this part (what it must fill).
    pub fn covers(self, path: &str) -> bool {
        match self {
            // POSTER has no counterpart of grefel's reliability head.
            Part::Checkpoint => !(path.starts_with("anchors") || path.starts_with("attention.")),
            Part::Ir50 => path.starts_with("ir50."),
            Part::MobileFaceNet => path.starts_with("mobilefacenet."),
        }
    }

    /// The grefel path of `key` of a file of this part.
    pub fn map(self, key: &str) -> Option<String> {
        match self {
            Part::Checkpoint => poster_key(key),
            Part::Ir50 => ir50_key(strip(key, &["module.", "ir_back."])),
            Part::MobileFaceNet => mobilefacenet_key(strip(key, &["module.", "face_landback."])),
        }
    }
}

/// `key` without the leading `prefixes` it has, in order.
fn strip<'a>(mut key: &'a str, prefixes: &[&str]) -> &'a str {
    for p in prefixes {
        key = key.strip_prefix(p).unwrap_or(key);
    }
    key
}

/// A key of a POSTER++ checkpoint (with or without DataParallel's `module.`).
pub fn poster_key(key: &str) -> Option<String> {
    let key = strip(key, &["module."]);
    if let Some(rest) = key.strip_prefix("ir_back.") {
        return ir50_key(rest);
    }
    if let Some(rest) = key.strip_prefix("face_landback.") {
        return mobilefacenet_key(rest);
    }
    if key.ends_with("num_batches_tracked") {
        return None;
    }
    // Scale modules: window1-3, attn1-3, ffn1-3, conv1-3 → index 0-2.
    for (module, scale_rest) in [("window", "norm."), ("attn", ""), ("ffn", ""), ("conv", "")] {
        if let Some(rest) = key.strip_prefix(module)
            && let Some((digit, tail)) = rest.split_once('.')
            && let Ok(scale @ 1..=3) = digit.parse::<usize>()
        {
            let i = scale - 1;
            return match (module, tail) {
                ("window", t) => t.strip_prefix(scale_rest).map(|p| format!("cross_attention.{i}.norm1.{p}")),
                ("attn", "relative_position_bias_table") => Some(format!("cross_attention.{i}.bias_table")),
                ("attn", "relative_position_index") => None,
                ("attn", t) => {
                    let (layer, p) = t.split_once('.')?;
                    let layer = match layer {
                        "qkv" => "kv",
                        "proj" => "proj",
                        _ => return None,
                    };
                    Some(format!("cross_attention.{i}.{layer}.{p}"))
                }
                ("ffn", g @ ("gamma1" | "gamma2")) => Some(format!("cross_attention.{i}.{g}")),
                ("ffn", t) => {
                    if let Some(p) = t.strip_prefix("norm.") {
                        Some(format!("cross_attention.{i}.norm2.{p}"))
                    } else {
                        let p = t.strip_prefix("mlp.")?;
                        let (fc, p) = p.split_once('.')?;
                        matches!(fc, "fc1" | "fc2").then(|| format!("cross_attention.{i}.{fc}.{p}"))
                    }
                }
                ("conv", p) => Some(format!("image_convs.{i}.{p}")),
                _ => None,
            };
        }
    }
    let simple = [
        ("last_face_conv.", "landmark_proj."),
        ("embed_q.0.", "tokens.s1a."),
        ("embed_q.1.", "tokens.s1b."),
        ("embed_k.0.", "tokens.s2."),
        ("embed_v.proj.", "tokens.s3."),
        ("VIT.norm.", "vit.norm."),
        ("VIT.se_block.linear1.", "vit.se1."),
        ("VIT.se_block.linear2.", "vit.se2."),
        ("VIT.head.linear.", "head.out."),
    ];
    for (from, to) in simple {
        if let Some(p) = key.strip_prefix(from) {
            return Some(format!("{to}{p}"));
        }
    }
    match key {
        "VIT.cls_token" => return Some("vit.cls".into()),
        "VIT.pos_embed" => return Some("vit.pos".into()),
        _ => {}
    }
    let rest = key.strip_prefix("VIT.blocks.")?;
    let (j, tail) = rest.split_once('.')?;
    let j: usize = j.parse().ok()?;
    let (layer, p) = if let Some(t) = tail.strip_prefix("attn.") {
        t.split_once('.')?
    } else if let Some(t) = tail.strip_prefix("mlp.") {
        t.split_once('.')?
    } else {
        tail.split_once('.')?
    };
    // `conv` is built in POSTER's ViT blocks and never run.
    matches!(layer, "qkv" | "proj" | "fc1" | "fc2" | "norm1" | "norm2")
        .then(|| format!("vit.blocks.{j}.{layer}.{p}"))
}

/// The POSTER++ `state_dict` key (no `module.` prefix) of the grefel tensor at `path`, in
/// PyTorch's naming (norm parameters `weight`/`bias`, as burn-store's PyTorch adapter names them
/// on the way out); `None` for a tensor POSTER has no counterpart of (the reliability head's).
/// The inverse of [`poster_key`].
pub fn poster_name(path: &str) -> Option<String> {
    if let Some(rest) = path.strip_prefix("ir50.") {
        return ir50_name(rest).map(|k| format!("ir_back.{k}"));
    }
    if let Some(rest) = path.strip_prefix("mobilefacenet.") {
        return mobilefacenet_name(rest).map(|k| format!("face_landback.{k}"));
    }
    if let Some(rest) = path.strip_prefix("cross_attention.") {
        let (i, tail) = rest.split_once('.')?;
        let scale = i.parse::<usize>().ok().filter(|i| *i < 3)? + 1;
        return match tail.split_once('.') {
            None => match tail {
                "bias_table" => Some(format!("attn{scale}.relative_position_bias_table")),
                "gamma1" | "gamma2" => Some(format!("ffn{scale}.{tail}")),
                _ => None,
            },
            Some(("norm1", p)) => Some(format!("window{scale}.norm.{p}")),
            Some(("kv", p)) => Some(format!("attn{scale}.qkv.{p}")),
            Some(("proj", p)) => Some(format!("attn{scale}.proj.{p}")),
            Some(("norm2", p)) => Some(format!("ffn{scale}.norm.{p}")),
            Some((fc @ ("fc1" | "fc2"), p)) => Some(format!("ffn{scale}.mlp.{fc}.{p}")),
            _ => None,
        };
    }
    if let Some(rest) = path.strip_prefix("image_convs.") {
        let (i, p) = rest.split_once('.')?;
        let scale = i.parse::<usize>().ok().filter(|i| *i < 3)? + 1;
        return Some(format!("conv{scale}.{p}"));
    }
    let simple = [
        ("landmark_proj.", "last_face_conv."),
        ("tokens.s1a.", "embed_q.0."),
        ("tokens.s1b.", "embed_q.1."),
        ("tokens.s2.", "embed_k.0."),
        ("tokens.s3.", "embed_v.proj."),
        ("vit.norm.", "VIT.norm."),
        ("vit.se1.", "VIT.se_block.linear1."),
        ("vit.se2.", "VIT.se_block.linear2."),
        ("head.out.", "VIT.head.linear."),
    ];
    for (from, to) in simple {
        if let Some(p) = path.strip_prefix(from) {
            return Some(format!("{to}{p}"));
        }
    }
    match path {
        "vit.cls" => return Some("VIT.cls_token".into()),
        "vit.pos" => return Some("VIT.pos_embed".into()),
        _ => {}
    }
    let rest = path.strip_prefix("vit.blocks.")?;
    let (j, tail) = rest.split_once('.')?;
    let j: usize = j.parse().ok()?;
    let (layer, p) = tail.split_once('.')?;
    let group = match layer {
        "qkv" | "proj" => "attn.",
        "fc1" | "fc2" => "mlp.",
        "norm1" | "norm2" => "",
        _ => return None,
    };
    Some(format!("VIT.blocks.{j}.{group}{layer}.{p}"))
}

/// [`poster_name`] inside the IR-50 trunk (POSTER's `body1-3` naming).
fn ir50_name(path: &str) -> Option<String> {
    if let Some(rest) = path.strip_prefix("stem.") {
        return match rest.split_once('.')? {
            ("conv", "weight") => Some("input_layer.0.weight".into()),
            ("bn", p) => Some(format!("input_layer.1.{p}")),
            ("act", "alpha") => Some("input_layer.2.weight".into()),
            _ => None,
        };
    }
    let rest = path.strip_prefix("stage")?;
    let (stage, rest) = rest.split_once('.')?;
    let (unit, tail) = rest.split_once('.')?;
    let prefix = format!("body{stage}.{unit}");
    let (layer, p) = tail.split_once('.')?;
    match (layer, p) {
        ("bn_in", p) => Some(format!("{prefix}.res_layer.0.{p}")),
        ("conv1", "weight") => Some(format!("{prefix}.res_layer.1.weight")),
        ("act", "alpha") => Some(format!("{prefix}.res_layer.2.weight")),
        ("conv2", "weight") => Some(format!("{prefix}.res_layer.3.weight")),
        ("bn_out", p) => Some(format!("{prefix}.res_layer.4.{p}")),
        ("shortcut", "conv.weight") => Some(format!("{prefix}.shortcut_layer.0.weight")),
        ("shortcut", p) => p.strip_prefix("bn.").map(|p| format!("{prefix}.shortcut_layer.1.{p}")),
        _ => None,
    }
}

/// [`poster_name`] inside the MobileFaceNet trunk.
fn mobilefacenet_name(path: &str) -> Option<String> {
    let (block, rest) = path.split_once('.')?;
    let (block, rest) = match block {
        "conv1" | "conv2_dw" => (block.to_string(), rest),
        "down1" => ("conv_23".to_string(), rest),
        "down2" => ("conv_34".to_string(), rest),
        "down3" => ("conv_45".to_string(), rest),
        "conv_sep" => ("conv_6_sep".to_string(), rest),
        "res1" | "res2" | "res3" => {
            let stage = match block {
                "res1" => 3,
                "res2" => 4,
                _ => 5,
            };
            let (i, rest) = rest.split_once('.')?;
            (format!("conv_{stage}.model.{}", i.parse::<usize>().ok()?), rest)
        }
        _ => return None,
    };
    let (sub, rest) = match rest.split_once('.')? {
        ("expand", r) => (".conv", r),
        ("depthwise", r) => (".conv_dw", r),
        ("project", r) => (".project", r),
        _ => ("", rest),
    };
    let leaf = match rest.split_once('.')? {
        ("conv", "weight") => "conv.weight".to_string(),
        ("bn", p) => format!("bn.{p}"),
        ("act", "alpha") => "prelu.weight".to_string(),
        _ => return None,
    };
    Some(format!("{block}{sub}.{leaf}"))
}

/// A key of the IR-50 trunk, in POSTER's naming (`input_layer`, `body1-3.U`) or face.evoLVe's flat
/// MS-Celeb-1M naming (`body.0-23`: 3, 4, 14 and 3 units; the fourth, 512-channel stage is not
/// part of the grefel trunk). `output_layer` (the embedding head) is not either.
pub fn ir50_key(key: &str) -> Option<String> {
    if key.ends_with("num_batches_tracked") {
        return None;
    }
    if let Some(rest) = key.strip_prefix("input_layer.") {
        let (layer, p) = rest.split_once('.')?;
        return match (layer, p) {
            ("0", "weight") => Some("ir50.stem.conv.weight".into()),
            ("1", p) => Some(format!("ir50.stem.bn.{p}")),
            ("2", "weight") => Some("ir50.stem.act.alpha".into()),
            _ => None,
        };
    }
    let (stage, unit, tail) = if let Some(rest) = key.strip_prefix("body.") {
        let (k, tail) = rest.split_once('.')?;
        let k: usize = k.parse().ok()?;
        match k {
            0..=2 => (1, k, tail),
            3..=6 => (2, k - 3, tail),
            7..=20 => (3, k - 7, tail),
            _ => return None,
        }
    } else {
        let rest = key.strip_prefix("body")?;
        let (stage, rest) = rest.split_once('.')?;
        let stage: usize = stage.parse().ok().filter(|s| (1..=3).contains(s))?;
        let (unit, tail) = rest.split_once('.')?;
        (stage, unit.parse().ok()?, tail)
    };
    let prefix = format!("ir50.stage{stage}.{unit}");
    if let Some(rest) = tail.strip_prefix("res_layer.") {
        let (layer, p) = rest.split_once('.')?;
        return match (layer, p) {
            ("0", p) => Some(format!("{prefix}.bn_in.{p}")),
            ("1", "weight") => Some(format!("{prefix}.conv1.weight")),
            ("2", "weight") => Some(format!("{prefix}.act.alpha")),
            ("3", "weight") => Some(format!("{prefix}.conv2.weight")),
            ("4", p) => Some(format!("{prefix}.bn_out.{p}")),
            _ => None,
        };
    }
    let rest = tail.strip_prefix("shortcut_layer.")?;
    match rest.split_once('.')? {
        ("0", "weight") => Some(format!("{prefix}.shortcut.conv.weight")),
        ("1", p) => Some(format!("{prefix}.shortcut.bn.{p}")),
        _ => None,
    }
}

/// A key of the MobileFaceNet 68-landmark network (`mobilefacenet_model_best.pth.tar`'s
/// `state_dict`). Its `output_layer` (the landmark regression head) is not part of the trunk.
pub fn mobilefacenet_key(key: &str) -> Option<String> {
    if key.ends_with("num_batches_tracked") {
        return None;
    }
    let blocks = [
        ("conv1.", "conv1", false),
        ("conv2_dw.", "conv2_dw", false),
        ("conv_23.", "down1", true),
        ("conv_34.", "down2", true),
        ("conv_45.", "down3", true),
        ("conv_6_sep.", "conv_sep", false),
    ];
    let (block, tail, depthwise) = blocks
        .iter()
        .find_map(|(from, to, dw)| key.strip_prefix(from).map(|t| (to.to_string(), t, *dw)))
        .or_else(|| {
            [("conv_3.model.", "res1"), ("conv_4.model.", "res2"), ("conv_5.model.", "res3")].iter().find_map(
                |(from, to)| {
                    let rest = key.strip_prefix(from)?;
                    let (i, tail) = rest.split_once('.')?;
                    let i: usize = i.parse().ok()?;
                    Some((format!("{to}.{i}"), tail, true))
                },
            )
        })?;
    // Inside a depth-wise block: `conv` (1×1 expansion), `conv_dw`, `project`.
    let (sub, tail) = if depthwise {
        let (sub, tail) = tail.split_once('.')?;
        let sub = match sub {
            "conv" => "expand",
            "conv_dw" => "depthwise",
            "project" => "project",
            _ => return None,
        };
        (format!(".{sub}"), tail)
    } else {
        (String::new(), tail)
    };
    let (layer, p) = tail.split_once('.')?;
    let leaf = match (layer, p) {
        ("conv", "weight") => "conv.weight".to_string(),
        ("bn", p) => format!("bn.{p}"),
        ("prelu", "weight") => "act.alpha".to_string(),
        _ => return None,
    };
    Some(format!("mobilefacenet.{block}{sub}.{leaf}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poster_keys_map_to_grefel_paths() {
        let cases = [
            ("module.ir_back.input_layer.2.weight", Some("ir50.stem.act.alpha")),
            ("module.ir_back.body3.13.res_layer.4.running_var", Some("ir50.stage3.13.bn_out.running_var")),
            ("module.ir_back.body2.0.shortcut_layer.1.weight", Some("ir50.stage2.0.shortcut.bn.weight")),
            ("module.ir_back.output_layer.3.weight", None),
            (
                "module.face_landback.conv_4.model.3.conv_dw.prelu.weight",
                Some("mobilefacenet.res2.3.depthwise.act.alpha"),
            ),
            ("module.face_landback.conv_23.conv.conv.weight", Some("mobilefacenet.down1.expand.conv.weight")),
            ("module.face_landback.conv_6_sep.bn.bias", Some("mobilefacenet.conv_sep.bn.bias")),
            ("module.face_landback.output_layer.linear.weight", None),
            ("module.window2.norm.weight", Some("cross_attention.1.norm1.weight")),
            ("module.attn3.qkv.weight", Some("cross_attention.2.kv.weight")),
            ("module.attn1.relative_position_bias_table", Some("cross_attention.0.bias_table")),
            ("module.attn1.relative_position_index", None),
            ("module.ffn2.gamma2", Some("cross_attention.1.gamma2")),
            ("module.ffn1.mlp.fc2.bias", Some("cross_attention.0.fc2.bias")),
            ("module.ffn3.norm.bias", Some("cross_attention.2.norm2.bias")),
            ("module.conv2.weight", Some("image_convs.1.weight")),
            ("module.last_face_conv.bias", Some("landmark_proj.bias")),
            ("module.embed_v.proj.weight", Some("tokens.s3.weight")),
            ("module.VIT.pos_embed", Some("vit.pos")),
            ("module.VIT.blocks.1.attn.qkv.weight", Some("vit.blocks.1.qkv.weight")),
            ("module.VIT.blocks.0.mlp.fc1.bias", Some("vit.blocks.0.fc1.bias")),
            ("module.VIT.blocks.0.norm2.weight", Some("vit.blocks.0.norm2.weight")),
            ("module.VIT.blocks.0.conv.weight", None),
            ("module.VIT.se_block.linear2.bias", Some("vit.se2.bias")),
            ("module.VIT.head.linear.weight", Some("head.out.weight")),
            ("module.VIT.CON1.weight", None),
            ("module.VIT.IRLinear1.weight", None),
            ("module.VIT.patch_embed.proj.weight", None),
            ("module.VIT.eca_block.conv.weight", None),
        ];
        for (key, want) in cases {
            assert_eq!(poster_key(key).as_deref(), want, "{key}");
            // And back: the export's names.
            if let Some(path) = want {
                assert_eq!(poster_name(path).as_deref(), key.strip_prefix("module."), "{path}");
            }
        }
        assert_eq!(poster_name("anchors"), None);
        assert_eq!(poster_name("attention.to_q.weight"), None);
    }

    #[test]
    fn both_ir50_namings_and_the_landmark_file_map() {
        assert_eq!(ir50_key("body.0.res_layer.1.weight").as_deref(), Some("ir50.stage1.0.conv1.weight"));
        assert_eq!(
            ir50_key("body.3.shortcut_layer.0.weight").as_deref(),
            Some("ir50.stage2.0.shortcut.conv.weight")
        );
        assert_eq!(ir50_key("body.20.res_layer.2.weight").as_deref(), Some("ir50.stage3.13.act.alpha"));
        assert_eq!(ir50_key("body.21.res_layer.1.weight"), None, "the 512-channel stage");
        assert_eq!(ir50_key("body1.2.res_layer.0.bias").as_deref(), Some("ir50.stage1.2.bn_in.bias"));
        assert_eq!(ir50_key("output_layer.3.weight"), None);
        assert_eq!(
            Part::Ir50.map("module.ir_back.body2.1.res_layer.3.weight").as_deref(),
            Some("ir50.stage2.1.conv2.weight")
        );
        assert_eq!(
            Part::MobileFaceNet.map("conv_5.model.1.project.bn.running_mean").as_deref(),
            Some("mobilefacenet.res3.1.project.bn.running_mean")
        );
        assert_eq!(
            Part::MobileFaceNet.map("conv2_dw.prelu.weight").as_deref(),
            Some("mobilefacenet.conv2_dw.act.alpha")
        );
        assert!(Part::Checkpoint.covers("vit.pos") && !Part::Checkpoint.covers("attention.to_q.weight"));
    }
}
