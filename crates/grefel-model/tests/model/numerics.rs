//! Reliability mix and loss values against hand-computed numbers.

use grefel_model::burn::tensor::activation::softmax;
use grefel_model::burn::tensor::{Distribution, Int, Tensor};
use grefel_model::config::{AnchorLoss, AttentionMode, LossConfig, ReliabilityConfig};
use grefel_model::losses::{anchor_loss, anchor_margin_loss, center_loss, smoothed_targets, weighted_nll};
use grefel_model::reliability::{AttentionPath, confidence, reliability_mix};
use grefel_model::{Grefel, ModelConfig, loss, trust_ramp};

use crate::{assert_distribution, close, cpu, mat, values};

#[test]
fn mix_rows_sum_to_one_and_confidences_in_unit_interval() {
    let device = cpu();
    let dist =
        |scale: f64| softmax(Tensor::<2>::random([16, 7], Distribution::Normal(0.0, scale), &device), 1);
    let cfg = ReliabilityConfig::default();
    for (i, trust) in [0.0f32, 0.3, 1.0].into_iter().enumerate() {
        let scale = [0.1, 1.0, 10.0][i];
        let mix = reliability_mix(dist(scale), dist(scale), dist(scale), trust, &cfg);
        assert_distribution(&mix.r, "r");
        assert_distribution(&mix.q, "q");
        assert_distribution(&mix.y_hat, "y_hat");
        for k in [&mix.kappa_p, &mix.kappa_m, &mix.kappa_alpha] {
            assert!(values(k).iter().all(|v| (0.0..=1.0).contains(v)), "kappa out of [0,1]");
        }
    }
}

#[test]
fn one_hot_and_uniform_inputs_give_no_nan() {
    let device = cpu();
    let one_hot = mat(2, 4, &[1., 0., 0., 0., 0., 0., 1., 0.], &device);
    let uniform = mat(2, 4, &[0.25; 8], &device);
    let cfg = ReliabilityConfig::default();
    for (p, m, a) in [
        (&one_hot, &one_hot, &one_hot),
        (&uniform, &uniform, &uniform),
        (&one_hot, &uniform, &uniform),
        (&uniform, &one_hot, &uniform),
    ] {
        let mix = reliability_mix(p.clone(), m.clone(), a.clone(), 1.0, &cfg);
        assert_distribution(&mix.r, "r");
        assert_distribution(&mix.y_hat, "y_hat");
    }
    assert_eq!(values(&confidence(one_hot, 1e-9)), vec![1.0, 1.0]);
    for k in values(&confidence(uniform, 1e-9)) {
        close(k, 0.0, 1e-6, "kappa(uniform)");
    }
}

#[test]
fn confidence_and_mix_match_hand_values() {
    let device = cpu();
    // H([.5,.5,0,0]) = ln 2, so κ = 1 − ln2/ln4 = 0.5.
    let p = mat(1, 4, &[0.5, 0.5, 0.0, 0.0], &device);
    close(values(&confidence(p.clone(), 1e-9))[0], 0.5, 1e-6, "kappa");
    // m one-hot (κ = 1), α uniform (κ = 0): r = m; q = 0.5·p + 0.5·m; ŷ(t=0.5) = 0.75p + 0.25m.
    let m = mat(1, 4, &[0.0, 0.0, 1.0, 0.0], &device);
    let a = mat(1, 4, &[0.25; 4], &device);
    let mix = reliability_mix(p, m, a, 0.5, &ReliabilityConfig::default());
    let want_q = [0.25, 0.25, 0.5, 0.0];
    let want_y = [0.375, 0.375, 0.25, 0.0];
    for (i, (q, y)) in values(&mix.q).iter().zip(values(&mix.y_hat)).enumerate() {
        close(*q, want_q[i], 1e-6, "q");
        close(y, want_y[i], 1e-6, "y_hat");
    }
}

#[test]
fn weighted_nll_divides_by_sum_of_class_weights() {
    let device = cpu();
    let probs = mat(2, 3, &[0.7, 0.2, 0.1, 0.1, 0.3, 0.6], &device);
    let labels = Tensor::<1, Int>::from_ints([0, 2], &device);
    let w = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
    let got = values(&weighted_nll(probs.clone(), labels.clone(), Some(w), 0.0))[0];
    let want = (1.0 * -(0.7f32.ln()) + 3.0 * -(0.6f32.ln())) / 4.0;
    close(got, want, 1e-6, "weighted NLL");
    let unweighted = values(&weighted_nll(probs, labels, None, 0.0))[0];
    close(unweighted, (-(0.7f32.ln()) - 0.6f32.ln()) / 2.0, 1e-6, "plain NLL");
}

#[test]
fn label_smoothing_changes_the_target() {
    let device = cpu();
    let labels = Tensor::<1, Int>::from_ints([1], &device);
    let t = values(&smoothed_targets(labels.clone(), 4, 0.2));
    for (got, want) in t.iter().zip([0.05, 0.85, 0.05, 0.05]) {
        close(*got, want, 1e-6, "smoothed target");
    }
    let probs = mat(1, 4, &[0.1, 0.6, 0.2, 0.1], &device);
    let got = values(&weighted_nll(probs, labels, None, 0.2))[0];
    let want = -(0.05 * 0.1f32.ln() + 0.85 * 0.6f32.ln() + 0.05 * 0.2f32.ln() + 0.05 * 0.1f32.ln());
    close(got, want, 1e-5, "smoothed NLL");
}

#[test]
fn anchor_loss_hand_value_and_zero_gradient_at_zero_init() {
    let device = cpu().autodiff();
    // C=2, K=1, D=4, a0 = e1, a1 = 0: both ordered pairs give 1 → −2/(√4·1²) = −1.
    let a = Tensor::<3>::from_floats([[[1.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0]]], &device);
    close(values(&anchor_loss(a))[0], -1.0, 1e-6, "anchor loss");
    let zeros = Tensor::<3>::zeros([7, 10, 16], &device).require_grad();
    let l = anchor_loss(zeros.clone());
    assert_eq!(values(&l)[0], 0.0);
    let grads = l.backward();
    let g = zeros.grad(&grads).expect("anchor gradient");
    assert!(values(&g).iter().all(|v| *v == 0.0), "gradient at zero init must be 0");
}

#[test]
fn margin_anchor_loss_is_a_bounded_hinge() {
    let device = cpu().autodiff();
    // C=2, K=1, D=4, a0 = 2·e1, a1 = 0: squared per-dimension distance 4/4 = 1 for both pairs.
    let a = Tensor::<3>::from_floats([[[2.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0]]], &device);
    close(values(&anchor_margin_loss(a.clone(), 3.0))[0], 2.0, 1e-6, "below the margin: 3 − 1");
    close(values(&anchor_margin_loss(a, 0.5))[0], 0.0, 1e-6, "beyond the margin: nothing to push");
    // Far apart anchors cost nothing (ARBEx's form keeps rewarding distance without bound).
    let far = Tensor::<3>::from_floats([[[100.0, 0.0]], [[-100.0, 0.0]]], &device);
    assert_eq!(values(&anchor_margin_loss(far.clone(), 1.0))[0], 0.0);
    assert!(values(&anchor_loss(far))[0] < -1e4);
    // K=2: pairs are per anchor index; the second index is below the margin, the first is not.
    let k2 = Tensor::<3>::from_floats([[[4.0], [0.0]], [[0.0], [0.5]]], &device);
    close(values(&anchor_margin_loss(k2, 1.0))[0], 0.375, 1e-6, "mean of (0, 0, 0.75, 0.75)");
    let zeros = Tensor::<3>::zeros([7, 10, 16], &device).require_grad();
    let l = anchor_margin_loss(zeros.clone(), 1.0);
    close(values(&l)[0], 1.0, 1e-6, "every pair at distance 0 costs the margin");
    let grads = l.backward();
    let g = zeros.grad(&grads).expect("anchor gradient");
    assert!(values(&g).iter().all(|v| *v == 0.0), "gradient at zero init must be 0");
}

#[test]
fn center_loss_picks_nearest_anchor_of_the_label() {
    let device = cpu();
    // B=2, C=2, K=2, D=4 (√D = 2).
    let d = Tensor::<3>::from_floats([[[1.0, 3.0], [0.5, 0.2]], [[2.0, 4.0], [6.0, 8.0]]], &device);
    let labels = Tensor::<1, Int>::from_ints([1, 0], &device);
    let kappa = Tensor::<1>::from_floats([0.5, 1.0], &device);
    let got = values(&center_loss(d, labels, kappa, 4))[0];
    close(got, (0.5 * 0.2 + 1.0 * 2.0) / 2.0 / 2.0, 1e-6, "center loss");
}

#[test]
fn total_loss_scales_aux_terms_by_trust() {
    let device = cpu();
    let cfg = ModelConfig::tiny();
    let model = Grefel::new(cfg.clone(), &device).expect("tiny builds");
    let images = Tensor::<4>::random([3, 3, 64, 64], Distribution::Normal(0.0, 1.0), &device);
    let lm = Tensor::<3>::random([3, 68, 2], Distribution::Uniform(0.0, 1.0), &device);
    let labels = Tensor::<1, Int>::from_ints([0, 3, 6], &device);
    let out = model.forward(images, Some(lm), 0.25).expect("forward");
    let parts = loss(&out, labels.clone(), None, &cfg.loss).expect("loss");
    let (cls, a, c) = (values(&parts.cls)[0], values(&parts.anchor)[0], values(&parts.center)[0]);
    // tiny adds the NLL of p (λ_primary = 1) to the NLL of ŷ.
    let primary = values(&weighted_nll(out.p.clone(), labels.clone(), None, 0.0))[0];
    assert!(primary.is_finite() && primary > 0.0);
    close(values(&parts.total)[0], cls + primary + 0.25 * (a + c), 1e-5, "total");
    let no_primary = LossConfig { lambda_primary: 0.0, ..cfg.loss.clone() };
    let parts0 = loss(&out, labels.clone(), None, &no_primary).expect("loss");
    close(values(&parts0.total)[0], cls + 0.25 * (a + c), 1e-5, "total without the p term");
    // tiny's hinge form: at the zero init every pair of anchors is below the margin (1.0).
    assert_eq!(a, 1.0, "margin anchor loss at zero init");
    let arbex = LossConfig { anchor_loss: AnchorLoss::Unbounded, ..cfg.loss.clone() };
    let unbounded = loss(&out, labels.clone(), None, &arbex).expect("loss");
    assert_eq!(values(&unbounded.anchor)[0], 0.0, "ARBEx's anchor loss at zero init");
    assert!(cls.is_finite() && c > 0.0);
    let bad = Tensor::<1, Int>::from_ints([0, 3, 7], &device);
    assert!(loss(&out, bad, None, &cfg.loss).is_err(), "label 7 of 7 classes");
}

#[test]
fn attention_path_mixes_the_batch_only_when_asked() {
    let device = cpu();
    let e = Tensor::<2>::random([4, 8], Distribution::Normal(0.0, 1.0), &device);
    let e2 = e.clone().slice_assign([3..4, 0..8], Tensor::<2>::ones([1, 8], &device).mul_scalar(5.0));
    for (mode, should_change) in [(AttentionMode::BatchMixing, true), (AttentionMode::PerSample, false)] {
        let path = AttentionPath::new(8, 5, mode, &device);
        let a = values(&path.forward(e.clone()).slice([0..1, 0..5]));
        let b = values(&path.forward(e2.clone()).slice([0..1, 0..5]));
        let changed = a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-7);
        assert_eq!(changed, should_change, "{mode:?}: sample 0 depends on sample 3");
    }
}

#[test]
fn trust_ramp_is_linear_and_clamped() {
    assert_eq!(trust_ramp(0, 100), 0.0);
    assert_eq!(trust_ramp(25, 100), 0.25);
    assert_eq!(trust_ramp(200, 100), 1.0);
    assert_eq!(trust_ramp(5, 0), 0.0);
}
