//! grefel-model integration tests (one binary): shapes, parameter counts, numerics, config.

mod config;
mod numerics;
mod params;
mod shapes;

use grefel_model::burn::tensor::{Device, Tensor, TensorData};

/// The CPU test device.
pub fn cpu() -> Device {
    Device::flex()
}

/// Values of a tensor as `f32`.
pub fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data().iter::<f32>().collect()
}

/// A `(rows, cols)` tensor from row-major values.
pub fn mat(rows: usize, cols: usize, v: &[f32], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [rows, cols]), device)
}

/// Asserts `|a − b| ≤ tol` with a message.
pub fn close(a: f32, b: f32, tol: f32, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b} (tol {tol})");
}

/// Asserts each row of `t` `(B, C)` sums to 1 and holds no NaN.
pub fn assert_distribution(t: &Tensor<2>, what: &str) {
    let [b, c] = t.dims();
    let v = values(t);
    assert!(v.iter().all(|x| x.is_finite()), "{what}: non-finite values {v:?}");
    for row in 0..b {
        let s: f32 = v[row * c..(row + 1) * c].iter().sum();
        close(s, 1.0, 1e-5, &format!("{what} row {row} sum"));
    }
}
