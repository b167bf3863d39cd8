//! Config validation, (de)serialisation and the per-class image counts.

use grefel_synth::{Nuisance, RAFDB_CLASS_TOTALS, SynthConfig, SynthError};

fn field_of(config: &SynthConfig) -> &'static str {
    match config.validate() {
        Err(SynthError::InvalidConfig { field, .. }) => field,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn default_counts_follow_rafdb() {
    let config = SynthConfig::default();
    config.validate().expect("default config is valid");
    let n = config.class_counts();
    assert_eq!(n.iter().sum::<usize>(), 6000);
    assert_eq!(n, [1253, 2330, 962, 634, 139, 343, 339]);
    let (happy, fear) = (1, 4);
    assert!(n.iter().all(|&c| c <= n[happy] && c >= n[fear] && c > 0), "{n:?}");
}

#[test]
fn counts_sum_exactly_and_never_drop_a_class() {
    for count in [7, 8, 13, 70, 99, 1000, 6001, 15339] {
        let config = SynthConfig { count, ..SynthConfig::default() };
        let n = config.class_counts();
        assert_eq!(n.iter().sum::<usize>(), count, "{n:?}");
        assert!(n.iter().all(|&c| c >= 1), "{n:?}");
        assert_eq!(n, config.class_counts(), "deterministic");
    }
    let all_one = SynthConfig { count: 7, ..SynthConfig::default() };
    assert_eq!(all_one.class_counts(), [1; 7]);
    let rafdb = SynthConfig { count: 15339, ..SynthConfig::default() };
    assert_eq!(rafdb.class_counts().map(|c| c as f64), RAFDB_CLASS_TOTALS);
}

#[test]
fn custom_weights_are_respected() {
    let uniform = SynthConfig { count: 70, class_weights: Some([1.0; 7]), ..SynthConfig::default() };
    assert_eq!(uniform.class_counts(), [10; 7]);
    let skewed = SynthConfig {
        count: 100,
        class_weights: Some([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]),
        ..SynthConfig::default()
    };
    skewed.validate().expect("zero weights are allowed");
    assert_eq!(skewed.class_counts(), [1, 1, 1, 1, 1, 1, 94]);
    let proportional = SynthConfig {
        count: 900,
        class_weights: Some([1.0, 2.0, 3.0, 0.5, 0.5, 1.0, 1.0]),
        ..SynthConfig::default()
    };
    assert_eq!(proportional.class_counts(), [100, 200, 300, 50, 50, 100, 100]);
}

#[test]
fn validation_names_the_field() {
    let base = SynthConfig::default();
    let with = |f: &dyn Fn(&mut SynthConfig)| {
        let mut c = base.clone();
        f(&mut c);
        c
    };
    assert_eq!(field_of(&with(&|c| c.count = 0)), "count");
    assert_eq!(field_of(&with(&|c| c.count = 6)), "count");
    assert_eq!(field_of(&with(&|c| c.image_size = 8)), "image_size");
    assert_eq!(field_of(&with(&|c| c.image_size = 513)), "image_size");
    assert_eq!(field_of(&with(&|c| c.identities = 0)), "identities");
    assert_eq!(field_of(&with(&|c| c.identities = 101)), "identities");
    let mut negative = [1.0; 7];
    negative[3] = -0.5;
    assert_eq!(field_of(&with(&|c| c.class_weights = Some(negative))), "class_weights");
    let mut nan = [1.0; 7];
    nan[0] = f64::NAN;
    assert_eq!(field_of(&with(&|c| c.class_weights = Some(nan))), "class_weights");
    assert_eq!(field_of(&with(&|c| c.class_weights = Some([0.0; 7]))), "class_weights");
    assert_eq!(field_of(&with(&|c| c.nuisance.yaw = -0.1)), "nuisance.yaw");
    assert_eq!(field_of(&with(&|c| c.nuisance.noise_std = f64::NAN)), "nuisance.noise_std");
    let message = with(&|c| c.image_size = 8).validate().expect_err("invalid").to_string();
    assert!(message.contains("image_size") && message.contains('8'), "{message}");
    with(&|c| c.nuisance = Nuisance::none()).validate().expect("no nuisances is valid");
    with(&|c| {
        c.count = 7;
        c.image_size = 32;
        c.identities = 100;
    })
    .validate()
    .expect("bounds are inclusive");
}

#[test]
fn deserialises_partial_tables_and_refuses_unknown_fields() {
    let c: SynthConfig =
        serde_json::from_str(r#"{"count": 70, "nuisance": {"yaw": 0.0}}"#).expect("partial config parses");
    assert_eq!(c.count, 70);
    assert_eq!(c.image_size, 64);
    assert_eq!(c.nuisance.yaw, 0.0);
    assert_eq!(c.nuisance.rotation_deg, 12.0);
    assert_eq!(c.class_weights, None);
    assert!(serde_json::from_str::<SynthConfig>(r#"{"cout": 70}"#).is_err());
    assert!(serde_json::from_str::<SynthConfig>(r#"{"nuisance": {"blur": 1.0}}"#).is_err());
    let w: SynthConfig =
        serde_json::from_str(r#"{"class_weights": [1, 2, 3, 4, 5, 6, 7]}"#).expect("weights parse");
    assert_eq!(w.class_weights, Some([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]));
    let round_trip: SynthConfig =
        serde_json::from_str(&serde_json::to_string(&w).expect("serialises")).expect("parses back");
    assert_eq!(round_trip, w);
}
