//! Shape checkpoints of docs/method.md §8 for the paper preset, and the tiny preset end to end.

use grefel_model::burn::tensor::{Distribution, Tensor};
use grefel_model::{Grefel, ModelConfig};

use crate::{assert_distribution, cpu};

fn expect(trace: &[(&'static str, Vec<usize>)], name: &str, dims: &[usize]) {
    let got =
        trace.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("checkpoint {name} not recorded"));
    assert_eq!(got.1, dims, "checkpoint {name}");
}

#[test]
fn paper_preset_shapes_at_every_checkpoint() {
    let device = cpu();
    let cfg = ModelConfig::paper();
    let c = cfg.num_classes;
    let model = Grefel::new(cfg, &device).expect("paper preset builds");
    let b = 1;
    let images = Tensor::<4>::random([b, 3, 224, 224], Distribution::Normal(0.0, 1.0), &device);
    let (out, trace) = model.forward_with_checkpoints(images, None, 0.5).expect("forward");
    expect(&trace, "backbone_input", &[b, 3, 112, 112]);
    expect(&trace, "ir_stage1", &[b, 64, 56, 56]);
    expect(&trace, "ir_stage2", &[b, 128, 28, 28]);
    expect(&trace, "ir_stage3", &[b, 256, 14, 14]);
    expect(&trace, "image_scale1", &[b, 64, 28, 28]);
    expect(&trace, "image_scale2", &[b, 128, 14, 14]);
    expect(&trace, "image_scale3", &[b, 256, 7, 7]);
    expect(&trace, "mfn_out1", &[b, 64, 28, 28]);
    expect(&trace, "mfn_out2", &[b, 128, 14, 14]);
    expect(&trace, "mfn_out3", &[b, 512, 7, 7]);
    expect(&trace, "landmark_scale3", &[b, 256, 7, 7]);
    expect(&trace, "cross_scale1", &[b, 64, 28, 28]);
    expect(&trace, "cross_scale2", &[b, 128, 14, 14]);
    expect(&trace, "cross_scale3", &[b, 256, 7, 7]);
    expect(&trace, "tokens", &[b, 147, 768]);
    expect(&trace, "tokens_with_cls", &[b, 148, 768]);
    expect(&trace, "vit_embedding", &[b, 768]);
    expect(&trace, "embedding", &[b, 128]);
    for name in ["p", "m", "alpha", "r", "y_hat"] {
        expect(&trace, name, &[b, c]);
    }
    for (t, name) in
        [(&out.p, "p"), (&out.m, "m"), (&out.alpha, "alpha"), (&out.r, "r"), (&out.y_hat, "y_hat")]
    {
        assert_distribution(t, name);
    }
}

#[test]
fn paper_geometry_branch_builds_224_queries() {
    // The geometry branch at paper size: only its own block, on its own input (fast).
    let device = cpu();
    let cfg = ModelConfig::paper_geometry();
    let branch = grefel_model::geometry::GeometryBranch::new(
        &cfg.landmark.geometry,
        [28, 14, 7],
        cfg.ir50.channels,
        &device,
    );
    let lm = Tensor::<3>::random([2, 68, 2], Distribution::Uniform(0.0, 1.0), &device);
    let maps = branch.forward(lm);
    let dims: Vec<[usize; 4]> = maps.iter().map(|m| m.dims()).collect();
    assert_eq!(dims, vec![[2, 64, 28, 28], [2, 128, 14, 14], [2, 256, 7, 7]]);
}

#[test]
fn tiny_presets_forward_end_to_end() {
    let device = cpu();
    for cfg in [ModelConfig::tiny(), ModelConfig::tiny_mfn()] {
        let c = cfg.num_classes;
        let model = Grefel::new(cfg, &device).expect("tiny builds");
        let b = 4;
        let images = Tensor::<4>::random([b, 3, 64, 64], Distribution::Normal(0.0, 1.0), &device);
        let lm = Tensor::<3>::random([b, 68, 2], Distribution::Uniform(0.1, 0.9), &device);
        let (out, trace) = model.forward_with_checkpoints(images, Some(lm), 1.0).expect("forward");
        expect(&trace, "ir_stage3", &[b, 64, 4, 4]);
        expect(&trace, "landmark_scale1", &[b, 16, 8, 8]);
        expect(&trace, "tokens_with_cls", &[b, 13, 96]);
        expect(&trace, "embedding", &[b, 32]);
        assert_eq!(out.y_hat.dims(), [b, c]);
        assert_eq!(out.distances.dims(), [b, c, 10]);
        assert_distribution(&out.y_hat, "y_hat");
        assert_distribution(&out.prediction(), "prediction");
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let device = cpu();
    let model = Grefel::new(ModelConfig::tiny(), &device).expect("tiny builds");
    let images = Tensor::<4>::zeros([2, 3, 64, 64], &device);
    let missing = model.forward(images.clone(), None, 0.0);
    assert!(matches!(missing, Err(grefel_model::ModelError::MissingLandmarks(68))));
    let wrong = Tensor::<3>::zeros([2, 5, 2], &device);
    assert!(model.forward(images.clone(), Some(wrong), 0.0).is_err());
    let small = Tensor::<4>::zeros([2, 3, 32, 32], &device);
    assert!(model.forward(small, None, 0.0).is_err());
    let lm = Tensor::<3>::zeros([2, 68, 2], &device);
    assert!(model.forward(images, Some(lm), 1.5).is_err());
}
