//! The model's ops on the libtorch backend (`--features tch`, `cargo xtask setup-libtorch`
//! first): the batch-norm ops of the vendored burn-tch match burn's formula in f32 and f64, and
//! the fused ops (`grefel_model::fused`) give burn's composite formulas' outputs and gradients.
//! CI builds the feature and runs these tests.

#![cfg(feature = "tch")]

/// Batch norm on libtorch (the vendored burn-tch routes it to libtorch kernels, PATCHES.md §2)
/// against burn's reference formula (the generic `ModuleOps` default, which the Flex CPU backend
/// runs), in f32 and f64: the training forward with its batch statistics, the gradients of the
/// input, gamma and beta, and the inference forward with given statistics.
mod batch_norm {
    use grefel_model::burn::tensor::module::{batch_norm, batch_norm_train};
    use grefel_model::burn::tensor::{DType, Device, Tensor, TensorData};
    use grefel_model::device_from_str;

    const SHAPE: [usize; 4] = [4, 3, 5, 6];
    const EPS: f64 = 1e-5;

    /// Deterministic values in [-1, 1) with a per-channel offset (channel means far from zero, so
    /// a formula that loses precision when centring shows up) and one near-constant channel.
    fn input() -> Vec<f64> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let per_channel = SHAPE[2] * SHAPE[3];
        (0..SHAPE.iter().product::<usize>())
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let u = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                match (i / per_channel) % SHAPE[1] {
                    0 => 12.0 + 3.0 * u,
                    1 => -4.0 + 0.5 * u,
                    _ => 0.25 + 1e-3 * u,
                }
            })
            .collect()
    }

    struct Outputs {
        output: Vec<f64>,
        mean: Vec<f64>,
        variance: Vec<f64>,
        x_grad: Vec<f64>,
        gamma_grad: Vec<f64>,
        beta_grad: Vec<f64>,
        inference: Vec<f64>,
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
        t.into_data().iter::<f64>().collect()
    }

    fn run(base: &Device, dtype: DType) -> Outputs {
        let device = base.clone().autodiff();
        let x_values = input();
        let dy: Vec<f64> =
            x_values.iter().enumerate().map(|(i, v)| (v * 0.37 + i as f64 * 0.011).sin()).collect();
        let tensor4 = |v: Vec<f64>, d: &Device| Tensor::<4>::from_data(TensorData::new(v, SHAPE), (d, dtype));
        let tensor1 =
            |v: Vec<f64>, d: &Device| Tensor::<1>::from_data(TensorData::new(v, [SHAPE[1]]), (d, dtype));

        let x = tensor4(x_values.clone(), &device).require_grad();
        let gamma = tensor1(vec![1.5, -0.7, 0.3], &device).require_grad();
        let beta = tensor1(vec![0.2, 0.0, -1.1], &device).require_grad();
        let r = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), EPS);
        let grads = (r.output.clone() * tensor4(dy, &device)).sum().backward();
        let grad = |t: &Tensor<4>| values(t.grad(&grads).expect("x has a gradient"));
        let grad1 = |t: &Tensor<1>| values(t.grad(&grads).expect("parameter has a gradient"));

        let inference = batch_norm(
            tensor4(x_values, base),
            tensor1(vec![1.5, -0.7, 0.3], base),
            tensor1(vec![0.2, 0.0, -1.1], base),
            tensor1(vec![11.0, -3.5, 0.5], base),
            tensor1(vec![4.0, 0.09, 1e-6], base),
            EPS,
        );
        Outputs {
            x_grad: grad(&x),
            gamma_grad: grad1(&gamma),
            beta_grad: grad1(&beta),
            output: values(r.output),
            mean: values(r.mean),
            variance: values(r.variance),
            inference: values(inference),
        }
    }

    /// Largest difference relative to the largest magnitude of the reference.
    fn assert_close(what: &str, got: &[f64], want: &[f64], tolerance: f64) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
        let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / scale;
        assert!(worst <= tolerance, "{what}: relative difference {worst:.3e} > {tolerance:.0e}");
    }

    fn compare(dtype: DType, tolerance: f64) {
        let torch = run(&device_from_str("libtorch-cpu").expect("libtorch"), dtype);
        let reference = run(&Device::flex(), dtype);
        assert_close("output", &torch.output, &reference.output, tolerance);
        assert_close("mean", &torch.mean, &reference.mean, tolerance);
        assert_close("variance", &torch.variance, &reference.variance, tolerance);
        assert_close("x gradient", &torch.x_grad, &reference.x_grad, tolerance);
        assert_close("gamma gradient", &torch.gamma_grad, &reference.gamma_grad, tolerance);
        assert_close("beta gradient", &torch.beta_grad, &reference.beta_grad, tolerance);
        assert_close("inference output", &torch.inference, &reference.inference, tolerance);
        // The comparison has teeth: the gradients are not all zero and the statistics are the
        // input's (channel means 12, -4 and 0.25).
        assert!(torch.x_grad.iter().any(|g| g.abs() > 1e-3));
        assert!((torch.mean[0] - 12.0).abs() < 0.5 && (torch.mean[1] + 4.0).abs() < 0.2);
    }

    #[test]
    fn matches_burns_formula_in_f32() {
        compare(DType::F32, 1e-5);
    }

    #[test]
    fn matches_burns_formula_in_f64() {
        compare(DType::F64, 1e-12);
    }
}

/// The fused ops (`grefel_model::fused`): on libtorch they run libtorch's kernels forward and
/// backward (PReLU's own backward kernel; layer norm, convolution and linear layers through a
/// recorded libtorch graph, attention through `scaled_dot_product_attention`); on Flex they are
/// burn's composite formulas. Outputs and every
/// operand's gradient agree in f32 and f64, with and without autodiff, and bf16 is a real
/// change of precision that stays close to f32.
mod fused {
    use grefel_model::burn::tensor::ops::ConvOptions;
    use grefel_model::burn::tensor::{DType, Device, Tensor, TensorData};
    use grefel_model::{Precision, device_from_str, fused, with_precision};

    /// Deterministic values in `offset ± scale`.
    fn values(n: usize, seed: u64, offset: f64, scale: f64) -> Vec<f64> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                offset + scale * ((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
            })
            .collect()
    }

    fn data<const D: usize>(t: Tensor<D>) -> Vec<f64> {
        t.into_data().convert::<f64>().iter::<f64>().collect()
    }

    /// An op under test: builds its operands on `device`, returns its output.
    type Op = fn(&[Tensor<4>]) -> Tensor<4>;

    /// Operand shapes (rank 4; lower ranks are reshaped inside the op) and generators.
    struct Case {
        name: &'static str,
        operands: Vec<([usize; 4], f64, f64)>,
        op: Op,
    }

    fn conv_options(padding: [(usize, usize); 2]) -> ConvOptions<2> {
        ConvOptions::new_with_padding([2, 1], padding, [1, 1], 2)
    }

    fn cases() -> Vec<Case> {
        vec![
            Case {
                name: "prelu",
                operands: vec![([4, 3, 5, 6], 0.0, 2.0), ([3, 1, 1, 1], 0.1, 0.3)],
                op: |t| fused::prelu(t[0].clone(), t[1].clone().reshape([3])),
            },
            Case {
                name: "layer_norm",
                // Rows centred at 6 with spread 0.5: a careless formula loses digits there.
                operands: vec![([2, 3, 5, 8], 6.0, 0.5), ([8, 1, 1, 1], 1.0, 0.5), ([8, 1, 1, 1], 0.0, 0.3)],
                op: |t| {
                    fused::layer_norm(
                        t[0].clone(),
                        t[1].clone().reshape([8]),
                        Some(t[2].clone().reshape([8])),
                        1e-5,
                    )
                },
            },
            Case {
                name: "conv2d",
                operands: vec![([2, 4, 7, 9], 0.0, 1.0), ([6, 2, 3, 3], 0.0, 0.4)],
                op: |t| fused::conv2d(t[0].clone(), t[1].clone(), None, conv_options([(1, 1), (1, 1)])),
            },
            Case {
                name: "conv2d with bias, asymmetric padding",
                operands: vec![([2, 4, 7, 9], 0.0, 1.0), ([6, 2, 3, 3], 0.0, 0.4), ([6, 1, 1, 1], 0.0, 1.0)],
                op: |t| {
                    let bias = Some(t[2].clone().reshape([6]));
                    fused::conv2d(t[0].clone(), t[1].clone(), bias, conv_options([(1, 0), (0, 2)]))
                },
            },
            Case {
                name: "attention",
                operands: vec![([2, 3, 5, 4], 0.0, 1.5), ([2, 3, 6, 4], 0.0, 1.5), ([2, 3, 6, 4], 0.0, 1.0)],
                op: |t| fused::attention(t[0].clone(), t[1].clone(), t[2].clone(), None, 0.5),
            },
            Case {
                name: "attention with bias",
                operands: vec![
                    ([2, 3, 5, 4], 0.0, 1.5),
                    ([2, 3, 6, 4], 0.0, 1.5),
                    ([2, 3, 6, 4], 0.0, 1.0),
                    ([1, 3, 5, 6], 0.0, 2.0),
                ],
                op: |t| fused::attention(t[0].clone(), t[1].clone(), t[2].clone(), Some(t[3].clone()), 0.5),
            },
            Case {
                name: "linear",
                operands: vec![([1, 3, 4, 6], 0.0, 1.0), ([6, 5, 1, 1], 0.0, 0.5), ([5, 1, 1, 1], 0.0, 1.0)],
                op: |t| {
                    let y = fused::linear(
                        t[0].clone().reshape([3, 4, 6]),
                        t[1].clone().reshape([6, 5]),
                        Some(t[2].clone().reshape([5])),
                    );
                    y.unsqueeze::<4>()
                },
            },
        ]
    }

    /// The output without autodiff, the output with autodiff, and each operand's gradient of
    /// `Σ output·g` for a fixed, varied `g`.
    fn run(case: &Case, base: &Device, dtype: DType) -> Vec<Vec<f64>> {
        let make = |device: &Device| -> Vec<Tensor<4>> {
            case.operands
                .iter()
                .enumerate()
                .map(|(i, &(shape, offset, scale))| {
                    let n = shape.iter().product();
                    Tensor::<4>::from_data(
                        TensorData::new(values(n, i as u64, offset, scale), shape),
                        (device, dtype),
                    )
                })
                .collect()
        };
        let plain = data((case.op)(&make(base)));
        let device = base.clone().autodiff();
        let operands: Vec<Tensor<4>> = make(&device).into_iter().map(Tensor::require_grad).collect();
        let y = (case.op)(&operands);
        let g = Tensor::<4>::from_data(
            TensorData::new(values(y.shape().num_elements(), 99, 0.0, 1.0), y.dims()),
            (&device, dtype),
        );
        let grads = (y.clone() * g).sum().backward();
        let mut out = vec![plain, data(y)];
        for (i, t) in operands.iter().enumerate() {
            let grad = t.grad(&grads).unwrap_or_else(|| panic!("{}: operand {i} has a gradient", case.name));
            out.push(data(grad));
        }
        out
    }

    fn assert_close(what: &str, got: &[f64], want: &[f64], tolerance: f64) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 1e-3, "{what}: the reference is all but zero, the comparison would be empty");
        let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / scale;
        assert!(worst <= tolerance, "{what}: relative difference {worst:.3e} > {tolerance:.0e}");
    }

    fn compare(dtype: DType, tolerance: f64) {
        let torch = device_from_str("libtorch-cpu").expect("libtorch");
        for case in cases() {
            let got = run(&case, &torch, dtype);
            let want = run(&case, &Device::flex(), dtype);
            let names = ["output", "output (autodiff)"];
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                let what = match names.get(i) {
                    Some(n) => format!("{} {n}", case.name),
                    None => format!("{} gradient of operand {}", case.name, i - 2),
                };
                assert_close(&what, g, w, tolerance);
            }
        }
    }

    #[test]
    fn match_burns_formulas_in_f32() {
        compare(DType::F32, 1e-5);
    }

    #[test]
    fn match_burns_formulas_in_f64() {
        compare(DType::F64, 1e-12);
    }

    /// bf16 changes the numbers (the products really run in bf16) by no more than bf16's
    /// resolution, and outputs and gradients stay f32.
    #[test]
    fn bf16_products_stay_close_to_f32() {
        let torch = device_from_str("libtorch-cpu").expect("libtorch");
        let products = ["conv2d", "linear", "attention"];
        for case in cases().into_iter().filter(|c| products.iter().any(|p| c.name.starts_with(p))) {
            let exact = run(&case, &torch, DType::F32);
            let bf16 = with_precision(Precision::Bf16, || run(&case, &torch, DType::F32));
            for (i, (b, e)) in bf16.iter().zip(&exact).enumerate() {
                assert_close(&format!("{} bf16 result {i}", case.name), b, e, 2e-2);
                assert!(b != e, "{} result {i}: bf16 gave exactly the f32 numbers", case.name);
            }
        }
    }
}
