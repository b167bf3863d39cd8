//! Configuration validation, presets, JSON and device strings.

use grefel_model::config::Reduction;
use grefel_model::{ModelConfig, ModelError, PRESET_NAMES, device_from_str};

#[test]
fn every_preset_validates_and_round_trips_through_json() {
    for name in PRESET_NAMES {
        let cfg = ModelConfig::preset(name).expect("preset exists");
        cfg.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = ModelConfig::from_json(&cfg.to_json().expect("json")).expect("parses");
        assert_eq!(back, cfg, "{name}");
    }
    assert!(matches!(ModelConfig::preset("huge"), Err(ModelError::UnknownPreset { .. })));
    assert_eq!(ModelConfig::arbex().embedding_dim(), 768);
    assert_eq!(ModelConfig::paper().reduction, Reduction::Linear { dim: 128 });
}

#[test]
fn invalid_values_are_rejected() {
    let mut cfg = ModelConfig::paper();
    cfg.image_size = 200; // 100 px inside: not a multiple of 16
    assert!(cfg.validate().is_err());
    let mut cfg = ModelConfig::paper();
    cfg.cross_attention.heads = [3, 4, 8];
    assert!(cfg.validate().is_err());
    let mut cfg = ModelConfig::tiny();
    cfg.loss.label_smoothing = 1.0;
    assert!(cfg.validate().is_err());
    let mut cfg = ModelConfig::tiny();
    cfg.reliability.anchors_per_class = 0;
    assert!(cfg.validate().is_err());
    let unknown_field =
        ModelConfig::tiny().to_json().expect("json").replacen("\"num_classes\"", "\"classes\"", 1);
    assert!(ModelConfig::from_json(&unknown_field).is_err());
}

#[test]
fn device_strings_map_to_devices() {
    assert!(device_from_str("cpu").is_ok());
    assert!(matches!(device_from_str("gpu"), Err(ModelError::UnknownDevice(_))));
    assert!(matches!(device_from_str("cuda:x"), Err(ModelError::UnknownDevice(_))));
    #[cfg(not(feature = "tch"))]
    {
        let err = device_from_str("cuda:0").expect_err("no tch feature");
        assert!(matches!(err, ModelError::BackendUnavailable { feature: "tch", .. }));
        assert!(err.to_string().contains("tch"), "{err}");
    }
}
