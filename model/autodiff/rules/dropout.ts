import type { GradientRule } from '../rule';

/**
 * Training-mode dropout: y = x * mask / (1 - ratio), so dx = dy * mask / (1 - ratio) with the
 * mask output of the same run (buildTrainGraph gives every Dropout one). In inference mode (no
 * training_mode input, or it is false at run time) Dropout is the identity, and so is its
 * gradient; the training_mode input picks the scale at run time.
 */
export const dropoutGradient: GradientRule = {
  opType: 'Dropout',
  differentiableInputs: [0],
  unsupportedReason: (node) =>
    node.inputs[2] && !node.outputs[1]
      ? 'a Dropout with a training_mode input needs its mask output to be differentiated'
      : undefined,
  gradients: (node, ctx) => [
    () => {
      const [, ratio, training] = node.inputs as [string, string | undefined, string | undefined];
      const [, mask] = node.outputs as [string, string | undefined];
      const dy = ctx.outputGrad();
      if (!training || !mask) return dy;
      const keep = ctx.op('Sub', [ctx.scalar(1), ratio ? ctx.op('CastLike', [ratio, dy]) : ctx.scalar(0.5)]);
      const scale = ctx.op('Where', [training, ctx.op('Reciprocal', [keep]), ctx.scalar(1)]);
      const kept = ctx.op('CastLike', [mask, dy]);
      return ctx.op('Mul', [ctx.op('Mul', [dy, kept]), scale]);
    },
  ],
};
