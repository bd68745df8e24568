//! The backward passes of [`MatmulConv`] on `Autodiff<Flex>`: the weight and input gradients as
//! one matrix product each over the whole batch, between the windows of an image as rows
//! ([`im2col`]) and the gradient as rows of pixels.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Shape, TensorData};

use super::MatmulConv;
use super::host::{
    Windows, add_channel_bias, channel_sums, col2im, im2col, planes_to_rows, rows_to_planes,
};

impl<C: CheckpointStrategy> MatmulConv for Autodiff<Flex, C> {
    fn conv2d_as_matmuls(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        record::<C, _>(Conv2dBackward, [&x, &weight, &bias], |[x, w, b]| {
            conv2d_forward(x, w, b, &options)
        })
    }

    fn conv_transpose2d_as_matmuls(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        record::<C, _>(
            ConvTranspose2dBackward,
            [&x, &weight, &bias],
            |[x, w, b]| conv_transpose2d_forward(x, w, b, &options),
        )
    }
}

/// Runs `forward` on the primitives of `x`, `weight` and `bias`; where any of them is tracked,
/// records `op` with the weight's checkpoint and the rows `forward` returns as its state.
fn record<C: CheckpointStrategy, O: Backward<Flex, 3, State = (NodeId, Rows)>>(
    op: O,
    [x, weight, bias]: [&FloatTensor<Autodiff<Flex, C>>; 3],
    forward: impl FnOnce([&FlexTensor; 3]) -> (FlexTensor, Rows),
) -> FloatTensor<Autodiff<Flex, C>> {
    let primitives = [x.primitive(), weight.primitive(), bias.primitive()];
    match op
        .prepare::<C>([x.node(), weight.node(), bias.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let (output, rows) = forward(primitives);
            let weight_state = prep.checkpoint(weight);
            prep.finish((weight_state, rows), output)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(primitives).0),
    }
}

/// What a backward pass keeps of its forward pass besides the weight: the matrix of rows it
/// multiplied the weight with, and where the windows lay.
#[derive(Clone, Debug)]
struct Rows {
    /// The convolution's windows of `x` (`[N·Gh·Gw, C·kh·kw]`), or the transposed
    /// convolution's `x` as rows of pixels (`[N·H·W, Cin]`).
    matrix: FlexTensor,
    windows: Windows,
    batch: usize,
    /// The channels of the convolution's input (`C`) or of the transposed convolution's
    /// input (`Cin`).
    channels: usize,
}

/// The backward pass of a convolution `y = conv2d(x, w) + b` with `x: [N, C, H, W]`,
/// `w: [O, C, kh, kw]`, `y: [N, O, Gh, Gw]`. With `g` the output gradient as rows of pixels
/// (`[N·Gh·Gw, O]`) and `X` the windows of `x` as rows (`[N·Gh·Gw, C·kh·kw]`, kept from the
/// forward pass): `∂w = gᵀ X`, `∂x = col2im(g w)`, `∂b = Σ g`.
#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 3> for Conv2dBackward {
    type State = (NodeId, Rows);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (weight_state, rows) = ops.state;
        let weight = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(weight_state));
        let Rows {
            matrix: cols,
            windows,
            batch,
            channels,
        } = rows;
        let [outs, _, kh, kw] = dims(&weight);
        let positions = windows.positions();
        let grad_values = f32s(&grad);
        let grad_rows = matrix(
            planes_to_rows(grad_values, batch, outs, positions),
            batch * positions,
            outs,
        );
        if let Some(node) = node_weight {
            let dw = Flex::float_matmul(grad_rows.transpose(0, 1), cols);
            let dw = contiguous(dw).reshape(Shape::new([outs, channels, kh, kw]));
            grads.register::<Flex>(node.id, dw);
        }
        if let Some(node) = node_x {
            let w_rows = weight.reshape(Shape::new([outs, channels * kh * kw]));
            let dcols = contiguous(Flex::float_matmul(grad_rows, w_rows));
            let dx = col2im(f32s(&dcols), batch, channels, &windows);
            let [height, width] = windows.image;
            grads.register::<Flex>(node.id, tensor(dx, [batch, channels, height, width]));
        }
        if let Some(node) = node_bias {
            let db = channel_sums(grad_values, batch, outs, positions);
            grads.register::<Flex>(node.id, tensor(db, [outs]));
        }
    }
}

/// The backward pass of a transposed convolution `y = conv_transpose2d(x, w) + b` with
/// `x: [N, Cin, H, W]`, `w: [Cin, Cout, kh, kw]`, `y: [N, Cout, Ho, Wo]`: the adjoint of a
/// convolution from `Cout` channels of `Ho×Wo` to `Cin` channels of `H×W`. With `G` the windows of
/// the output gradient as rows (`[N·H·W, Cout·kh·kw]`) and `x` as rows of pixels (`[N·H·W, Cin]`,
/// kept from the forward pass): `∂w = xᵀ G`, `∂x = G wᵀ`, `∂b = Σ g`.
#[derive(Debug)]
struct ConvTranspose2dBackward;

impl Backward<Flex, 3> for ConvTranspose2dBackward {
    type State = (NodeId, Rows);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (weight_state, rows) = ops.state;
        let weight = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(weight_state));
        let Rows {
            matrix: x_rows,
            windows,
            batch,
            channels: ins,
        } = rows;
        let [_, outs, kh, kw] = dims(&weight);
        let positions = windows.positions();
        let row_len = outs * kh * kw;
        let grad_values = f32s(&grad);
        let grad_cols = matrix(
            im2col(grad_values, batch, outs, &windows),
            batch * positions,
            row_len,
        );
        if let Some(node) = node_weight {
            let dw = Flex::float_matmul(x_rows.transpose(0, 1), grad_cols.clone());
            let dw = contiguous(dw).reshape(Shape::new([ins, outs, kh, kw]));
            grads.register::<Flex>(node.id, dw);
        }
        if let Some(node) = node_x {
            let w_rows = weight.reshape(Shape::new([ins, row_len]));
            let dx_rows = contiguous(Flex::float_matmul(grad_cols, w_rows.transpose(0, 1)));
            let dx = rows_to_planes(f32s(&dx_rows), batch, ins, positions);
            let [height, width] = windows.grid;
            grads.register::<Flex>(node.id, tensor(dx, [batch, ins, height, width]));
        }
        if let Some(node) = node_bias {
            let [out_h, out_w] = windows.image;
            let db = channel_sums(grad_values, batch, outs, out_h * out_w);
            grads.register::<Flex>(node.id, tensor(db, [outs]));
        }
    }
}

/// `conv2d(x, w) + b` as one matrix product, the windows of `x` as rows times `wᵀ`; and those
/// rows, for the weight's gradient.
fn conv2d_forward(
    x: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    options: &ConvOptions<2>,
) -> (FlexTensor, Rows) {
    let (x, w, b) = (
        contiguous(x.clone()),
        contiguous(w.clone()),
        contiguous(b.clone()),
    );
    let [batch, channels, height, width] = dims(&x);
    let [outs, _, kh, kw] = dims(&w);
    let grid = |size: usize, axis: usize, kernel: usize| {
        (size + 2 * options.padding[axis].0 - kernel) / options.stride[axis] + 1
    };
    let windows = Windows {
        image: [height, width],
        kernel: [kh, kw],
        stride: options.stride,
        padding: [options.padding[0].0, options.padding[1].0],
        grid: [grid(height, 0, kh), grid(width, 1, kw)],
    };
    let positions = windows.positions();
    let row_len = channels * kh * kw;
    let cols = matrix(
        im2col(f32s(&x), batch, channels, &windows),
        batch * positions,
        row_len,
    );
    let w_rows = w.reshape(Shape::new([outs, row_len]));
    let y_rows = contiguous(Flex::float_matmul(cols.clone(), w_rows.transpose(0, 1)));
    let mut y = rows_to_planes(f32s(&y_rows), batch, outs, positions);
    add_channel_bias(&mut y, f32s(&b), positions);
    let [gh, gw] = windows.grid;
    let rows = Rows {
        matrix: cols,
        windows,
        batch,
        channels,
    };
    (tensor(y, [batch, outs, gh, gw]), rows)
}

/// `conv_transpose2d(x, w) + b` as one matrix product and `col2im`: `x` as rows of pixels times
/// `w`, each row added onto the window it spreads over; and those rows of `x`, for the weight's
/// gradient.
fn conv_transpose2d_forward(
    x: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    options: &ConvTransposeOptions<2>,
) -> (FlexTensor, Rows) {
    let (x, w, b) = (
        contiguous(x.clone()),
        contiguous(w.clone()),
        contiguous(b.clone()),
    );
    let [batch, ins, height, width] = dims(&x);
    let [_, outs, kh, kw] = dims(&w);
    let size = |input: usize, axis: usize, kernel: usize| {
        (input - 1) * options.stride[axis] + kernel + options.padding_out[axis]
            - 2 * options.padding[axis]
    };
    let (out_h, out_w) = (size(height, 0, kh), size(width, 1, kw));
    let windows = Windows {
        image: [out_h, out_w],
        kernel: [kh, kw],
        stride: options.stride,
        padding: options.padding,
        grid: [height, width],
    };
    let positions = windows.positions();
    let row_len = outs * kh * kw;
    let x_rows = matrix(
        planes_to_rows(f32s(&x), batch, ins, positions),
        batch * positions,
        ins,
    );
    let w_rows = w.reshape(Shape::new([ins, row_len]));
    let cols = contiguous(Flex::float_matmul(x_rows.clone(), w_rows));
    let mut y = col2im(f32s(&cols), batch, outs, &windows);
    add_channel_bias(&mut y, f32s(&b), out_h * out_w);
    let rows = Rows {
        matrix: x_rows,
        windows,
        batch,
        channels: ins,
    };
    (tensor(y, [batch, outs, out_h, out_w]), rows)
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The values of a contiguous `f32` tensor.
fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("the conv gradients run on contiguous f32 tensors")
}

fn dims<const D: usize>(t: &FlexTensor) -> [usize; D] {
    let shape = &t.layout().shape();
    core::array::from_fn(|i| shape[i])
}

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn matrix(values: Vec<f32>, rows: usize, cols: usize) -> FlexTensor {
    tensor(values, [rows, cols])
}
