//! Trains the example (see the library docs) and prints what it measured.

fn main() -> Result<(), vae_data::DataError> {
    let report = vae_example_custom_encoder::train(600, 64, 1000, None)?;
    println!(
        "training loss (negative ELBO per image, continuous Bernoulli): first 20 steps {:.1}, \
         last 20 steps {:.1}",
        report.first_loss, report.last_loss
    );
    println!(
        "test negative ELBO (first 1000 test images): {:.1} nats",
        report.test_loss
    );
    Ok(())
}
