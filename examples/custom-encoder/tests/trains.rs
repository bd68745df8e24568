//! The example trains on real MNIST: its loss falls and its test ELBO is finite.

#[test]
fn the_custom_encoder_trains_on_real_mnist() {
    let Some(dir) = std::env::var_os("VAE_MNIST_DIR") else {
        panic!("this test trains on the real MNIST files: set VAE_MNIST_DIR");
    };
    let report =
        vae_example_custom_encoder::train(200, 32, 200, Some(std::path::Path::new(&dir))).unwrap();
    assert!(
        report.last_loss < report.first_loss - 100.0,
        "the loss did not fall: {report:?}"
    );
    assert!(report.test_loss.is_finite(), "{report:?}");
}
