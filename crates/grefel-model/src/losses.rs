//! The GReFEL losses (docs/method.md §3): weighted NLL on the corrected distribution (with optional label
//! smoothing), the anchor loss and the confidence-weighted center loss.

use burn::tensor::{Int, Tensor};

use crate::config::{AnchorLoss, LossConfig};
use crate::error::ModelError;
use crate::model::GrefelOutput;

/// Probabilities are clamped to at least this before the `log` of the classification loss.
pub const LOG_FLOOR: f64 = 1e-9;

/// The loss terms of one batch, each a 1-element tensor on the model's device.
#[derive(Debug, Clone)]
pub struct LossParts {
    /// `λ_cls·L_cls + s·(λ_a·L_a + λ_c·L_c)` with `s = t` (ARBEx) or 1.
    pub total: Tensor<1>,
    /// Classification loss L_cls.
    pub cls: Tensor<1>,
    /// Anchor loss L_a.
    pub anchor: Tensor<1>,
    /// Center loss L_c.
    pub center: Tensor<1>,
}

/// Inverse-frequency class weights `w_c = (N / C) / n_c` (1 for a balanced set); a class with
/// no samples gets weight 0.
pub fn inverse_frequency_weights(counts: &[usize]) -> Vec<f32> {
    let n: usize = counts.iter().sum();
    let c = counts.len().max(1);
    counts.iter().map(|&k| if k == 0 { 0.0 } else { (n as f64 / c as f64 / k as f64) as f32 }).collect()
}

/// Smoothed targets `(B, C)`: `(1 − ε)·one_hot(y) + ε/C`.
pub fn smoothed_targets(labels: Tensor<1, Int>, num_classes: usize, epsilon: f64) -> Tensor<2> {
    let one_hot: Tensor<2> = labels.one_hot::<2>(num_classes).float();
    one_hot.mul_scalar(1.0 - epsilon).add_scalar(epsilon / num_classes as f64)
}

/// Weighted NLL on a distribution `probs` `(B, C)` with weighted-mean semantics:
/// `Σ_b w_{y_b}·(−Σ_c t_{b,c}·log ŷ_{b,c}) / Σ_b w_{y_b}`, `t` the smoothed targets.
pub fn weighted_nll(
    probs: Tensor<2>,
    labels: Tensor<1, Int>,
    class_weights: Option<Tensor<1>>,
    epsilon: f64,
) -> Tensor<1> {
    weighted_cross_entropy(probs, labels, None, class_weights, epsilon)
}

/// [`weighted_nll`] against given target distributions `soft` `(B, C)` (FER+'s vote
/// distributions) where present: `t = (1 − ε)·soft + ε/C`; the weights still follow the labels.
pub fn weighted_cross_entropy(
    probs: Tensor<2>,
    labels: Tensor<1, Int>,
    soft: Option<Tensor<2>>,
    class_weights: Option<Tensor<1>>,
    epsilon: f64,
) -> Tensor<1> {
    let [b, c] = probs.dims();
    let targets = match soft {
        Some(t) => t.mul_scalar(1.0 - epsilon).add_scalar(epsilon / c as f64),
        None => smoothed_targets(labels.clone(), c, epsilon),
    };
    let per_sample = (targets * probs.clamp_min(LOG_FLOOR).log()).sum_dim(1).neg().reshape([b]);
    match class_weights {
        Some(w) => {
            let wb = w.select(0, labels);
            (per_sample * wb.clone()).sum() / wb.sum()
        }
        None => per_sample.mean(),
    }
}

/// ARBEx's anchor loss on anchors `(C, K, D)`:
/// `−Σ_{c,c'} ‖a_c − a_{c'}‖² / (√D·K²)` with each class's K anchors flattened into one vector
/// (only same-index anchors of different classes are compared). Unbounded below; zero gradient
/// at the zero init.
pub fn anchor_loss(anchors: Tensor<3>) -> Tensor<1> {
    let [c, k, d] = anchors.dims();
    let flat = anchors.reshape([c, k * d]);
    let diff = flat.clone().reshape([1, c, k * d]) - flat.reshape([c, 1, k * d]);
    diff.powi_scalar(2).sum().div_scalar((d as f64).sqrt() * (k * k) as f64).neg()
}

/// The hinge form of the anchor loss ([`AnchorLoss::Margin`]) on anchors `(C, K, D)`: the mean
/// over ordered pairs of different classes and anchor indices k of
/// `max(0, margin − ‖a_{c,k} − a_{c',k}‖² / D)`. Zero gradient at the zero init, like ARBEx's.
pub fn anchor_margin_loss(anchors: Tensor<3>, margin: f64) -> Tensor<1> {
    let [c, k, d] = anchors.dims();
    let diff = anchors.clone().reshape([1, c, k, d]) - anchors.reshape([c, 1, k, d]);
    let sq = diff.powi_scalar(2).sum_dim(3).reshape([c * c * k]).div_scalar(d as f64); // (C·C·K)
    let hinge = sq.neg().add_scalar(margin).clamp_min(0.0);
    // The C·K same-class pairs have distance 0 and contribute `margin` each, without gradient.
    let same = (c * k) as f64 * margin;
    let pairs = (c * (c - 1) * k).max(1) as f64;
    hinge.sum().sub_scalar(same).div_scalar(pairs)
}

/// Center loss: `(1/B)·Σ_b κ(p_b)·min_k d_{b,y_b,k} / √D`, distances `(B, C, K)`.
pub fn center_loss(
    distances: Tensor<3>,
    labels: Tensor<1, Int>,
    kappa_p: Tensor<1>,
    dim: usize,
) -> Tensor<1> {
    let [b, _, k] = distances.dims();
    let idx = labels.reshape([b, 1, 1]).expand([b, 1, k]);
    let nearest = distances.gather(1, idx).min_dim(2).reshape([b]);
    (nearest * kappa_p).mean().div_scalar((dim as f64).sqrt())
}

/// Checks labels `(B)` against the output's batch and class count (reads the labels back).
fn check_labels(labels: &Tensor<1, Int>, batch: usize, classes: usize) -> Result<(), ModelError> {
    let dims = labels.dims();
    if dims[0] != batch {
        return Err(ModelError::InputShape {
            name: "labels",
            expected: format!("({batch})"),
            actual: dims.to_vec(),
        });
    }
    let values: Vec<i64> = labels.to_data().iter::<i64>().collect();
    if let Some(bad) = values.iter().find(|&&y| y < 0 || y as usize >= classes) {
        return Err(ModelError::InvalidConfig(format!("label {bad} outside 0..{classes}")));
    }
    Ok(())
}

/// All GReFEL losses for one batch. `class_weights` `(C)` defaults to all ones.
pub fn loss(
    output: &GrefelOutput,
    labels: Tensor<1, Int>,
    class_weights: Option<Tensor<1>>,
    cfg: &LossConfig,
) -> Result<LossParts, ModelError> {
    loss_with_targets(output, labels, None, class_weights, cfg)
}

/// [`loss`] with the classification terms against soft target distributions `soft` `(B, C)`
/// (soft-label training); the anchor and center losses use the labels.
pub fn loss_with_targets(
    output: &GrefelOutput,
    labels: Tensor<1, Int>,
    soft: Option<Tensor<2>>,
    class_weights: Option<Tensor<1>>,
    cfg: &LossConfig,
) -> Result<LossParts, ModelError> {
    let [b, c] = output.y_hat.dims();
    check_labels(&labels, b, c)?;
    if let Some(t) = &soft
        && t.dims() != [b, c]
    {
        return Err(ModelError::InputShape {
            name: "soft targets",
            expected: format!("({b}, {c})"),
            actual: t.dims().to_vec(),
        });
    }
    if let Some(w) = &class_weights
        && w.dims()[0] != c
    {
        return Err(ModelError::InputShape {
            name: "class_weights",
            expected: format!("({c})"),
            actual: w.dims().to_vec(),
        });
    }
    let dim = output.embedding.dims()[1];
    let cls = weighted_cross_entropy(
        output.y_hat.clone(),
        labels.clone(),
        soft.clone(),
        class_weights.clone(),
        cfg.label_smoothing,
    );
    let anchor = match cfg.anchor_loss {
        AnchorLoss::Unbounded => anchor_loss(output.anchors.clone()),
        AnchorLoss::Margin { margin } => anchor_margin_loss(output.anchors.clone(), margin),
    };
    let center = center_loss(output.distances.clone(), labels.clone(), output.kappa_p.clone(), dim);
    let scale = if cfg.aux_scaled_by_trust { f64::from(output.trust) } else { 1.0 };
    let mut total = cls.clone().mul_scalar(cfg.lambda_cls);
    if cfg.lambda_primary != 0.0 {
        let primary = weighted_cross_entropy(
            output.p.clone(),
            labels.clone(),
            soft,
            class_weights,
            cfg.label_smoothing,
        );
        total = total + primary.mul_scalar(cfg.lambda_primary);
    }
    let total = total
        + (anchor.clone().mul_scalar(cfg.lambda_anchor) + center.clone().mul_scalar(cfg.lambda_center))
            .mul_scalar(scale);
    Ok(LossParts { total, cls, anchor, center })
}
