//! The backward pass of [`FusedLinear`] on `Autodiff<Flex>`: the activation's derivative and the
//! bias gradient in one pass over the output gradient, then the weight's and the input's
//! gradients as the two matrix products of Burn's layer.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::TensorData;

use super::FusedLinear;
use super::host::{Act, activation_backward_in_place, contiguous, exclusive, f32s, forward};

impl<C: CheckpointStrategy> FusedLinear for Autodiff<Flex, C> {
    fn linear_activation(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Act,
    ) -> FloatTensor<Self> {
        let (x_tracked, weight_tracked) = (x.is_tracked(), weight.is_tracked());
        let primitives = (x.primitive(), weight.primitive(), bias.primitive());
        let op = LinearActivationBackward { act };
        match op
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let output = forward(primitives.0, primitives.1, primitives.2, act);
                let state = Kept {
                    // x only for the weight's gradient, the weight only for x's.
                    x: weight_tracked.then(|| primitives.0.clone()),
                    weight: x_tracked.then(|| primitives.1.clone()),
                    output: (act != Act::Identity).then(|| output.clone()),
                };
                prep.finish(state, output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(forward(primitives.0, primitives.1, primitives.2, act))
            }
        }
    }
}

/// What the backward pass keeps of the forward pass.
#[derive(Clone, Debug)]
struct Kept {
    /// The layer's input (`[batch, in]`), where the weight needs a gradient.
    x: Option<FlexTensor>,
    /// The weight (`[in, out]`), where the input needs a gradient.
    weight: Option<FlexTensor>,
    /// The activation's output (`[batch, out]`), where its derivative needs it.
    output: Option<FlexTensor>,
}

/// The backward pass of `y = act(x w + b)`: with `g` the output gradient times `act'` (read
/// from `y`), `∂b = Σ g` over the batch, `∂w = xᵀ g`, `∂x = g wᵀ`.
#[derive(Debug)]
struct LinearActivationBackward {
    act: Act,
}

impl Backward<Flex, 3> for LinearActivationBackward {
    type State = Kept;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let mut grad = exclusive(grads.consume::<Flex>(&ops.node));
        let Kept { x, weight, output } = ops.state;
        let width = grad.layout().shape()[1];
        let output = output.map(contiguous);
        let db = activation_backward_in_place(
            grad.storage_mut(),
            output.as_ref().map(f32s),
            width,
            self.act,
        );
        drop(output);
        if let Some(node) = node_bias {
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(db, [width])));
        }
        if let (Some(node), Some(x)) = (node_weight, x) {
            grads.register::<Flex>(node.id, Flex::float_matmul(x.transpose(0, 1), grad.clone()));
        }
        if let (Some(node), Some(weight)) = (node_x, weight) {
            grads.register::<Flex>(node.id, Flex::float_matmul(grad, weight.transpose(0, 1)));
        }
    }
}
