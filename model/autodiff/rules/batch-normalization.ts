import { attr, floatAttr, type GraphNode, intAttr } from '../../graph';
import type { GradientContext, GradientRule } from '../rule';
import { asFloat } from '../tensor-ops';

/**
 * Y = scale * (X - mean) / sqrt(var + epsilon) + B per channel (axis 1), over X [N, C, ...].
 *
 * Training form (training_mode = 1): mean and var are the batch statistics, so they depend on X
 * and dX = scale / sqrt(var + eps) * (dY - mean(dY) - Xhat * mean(dY * Xhat)), means per channel.
 * The running-statistics outputs are not differentiated (and may not feed the loss).
 *
 * Inference form: mean and var are the inputs, constants to the gradient, so the node is an
 * affine map per channel. Neither form updates the running statistics kasync stores: they stay
 * as initialized (see docs/models.md).
 */
export const batchNormalizationGradient: GradientRule = {
  opType: 'BatchNormalization',
  differentiableInputs: [0, 1, 2],
  unsupportedReason: (node, graph, carriesGradient) => {
    if (graph.opset < 14 && node.outputs.filter(Boolean).length > 1) {
      return 'training outputs before opset 14 are not supported; export with opset >= 14';
    }
    const statistics = node.inputs.slice(3, 5).filter(carriesGradient);
    return statistics.length > 0
      ? `mean and variance inputs must not depend on parameters (${statistics.join(', ')} do)`
      : undefined;
  },
  gradients: (node, ctx) => {
    const [x, scale] = node.inputs as [string, string];
    const dy = () => ctx.outputGrad();
    // Built on first use and shared by the three gradients.
    let statistics: ChannelStatistics | undefined;
    const stats = () => {
      statistics ??= channelStatistics(ctx, node, x);
      return statistics;
    };
    const sumPerChannel = (value: string, keep: boolean) =>
      ctx.op('ReduceSum', [value, stats().axes], { keepdims: attr.int(keep ? 1 : 0) });
    return [
      () => {
        const { inverseStd, normalized, count, toChannel } = stats();
        const scaled = ctx.op('Mul', [toChannel(scale), inverseStd]);
        if (!isTraining(node)) return ctx.op('Mul', [dy(), scaled]);
        const meanOf = (value: string) => ctx.op('Div', [sumPerChannel(value, true), count]);
        const centered = ctx.op('Sub', [dy(), meanOf(dy())]);
        const projection = ctx.op('Mul', [normalized, meanOf(ctx.op('Mul', [dy(), normalized]))]);
        return ctx.op('Mul', [scaled, ctx.op('Sub', [centered, projection])]);
      },
      () => sumPerChannel(ctx.op('Mul', [dy(), stats().normalized]), false),
      () => sumPerChannel(dy(), false),
    ];
  },
};

/** Opset 14 added training_mode; earlier training forms (extra outputs) are refused above. */
function isTraining(node: GraphNode): boolean {
  return intAttr(node, 'training_mode', 0) === 1;
}

interface ChannelStatistics {
  /** All axes but the channel axis: [0, 2, 3, ...], computed from X's rank at run time. */
  readonly axes: string;
  /** Elements per channel, as a float scalar. */
  readonly count: string;
  /** 1 / sqrt(var + epsilon), shaped [1, C, 1, ...]. */
  readonly inverseStd: string;
  /** (X - mean) / sqrt(var + epsilon). */
  readonly normalized: string;
  /** Reshapes a per-channel [C] tensor to broadcast against X. */
  readonly toChannel: (perChannel: string) => string;
}

/** The statistics X was normalized with. */
function channelStatistics(ctx: GradientContext, node: GraphNode, x: string): ChannelStatistics {
  const rank = ctx.op('Size', [ctx.op('Shape', [x])]);
  const axes = ctx.op(
    'Concat',
    [ctx.int64([0]), ctx.op('Range', [ctx.int64([2], []), rank, ctx.int64([1], [])])],
    {
      axis: attr.int(0),
    },
  );
  const sum = (value: string) => ctx.op('ReduceSum', [value, axes], { keepdims: attr.int(1) });
  const channelShape = ctx.op('Shape', [sum(x)]);
  const toChannel = (perChannel: string) => ctx.op('Reshape', [perChannel, channelShape]);
  const count = asFloat(
    ctx,
    ctx.op('Div', [ctx.op('Size', [x]), ctx.op('Size', [node.inputs[1] as string])]),
  );
  const epsilon = ctx.scalar(floatAttr(node, 'epsilon', 1e-5));
  const training = isTraining(node);
  const mean = training ? ctx.op('Div', [sum(x), count]) : toChannel(node.inputs[3] as string);
  const deviation = ctx.op('Sub', [x, mean]);
  const variance = training
    ? // The biased (population) variance, which ONNX normalizes with in training mode.
      ctx.op('Div', [sum(ctx.op('Mul', [deviation, deviation])), count])
    : toChannel(node.inputs[4] as string);
  const inverseStd = ctx.op('Reciprocal', [ctx.op('Sqrt', [ctx.op('Add', [variance, epsilon])])]);
  return { axes, count, inverseStd, normalized: ctx.op('Mul', [deviation, inverseStd]), toChannel };
}
