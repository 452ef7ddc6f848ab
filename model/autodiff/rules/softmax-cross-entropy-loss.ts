import { attr } from '../../graph';
import type { GradientRule } from '../rule';
import { oneHot, scaleByReduction, unsupportedLoss } from '../tensor-ops';

/**
 * For scores [N, C] and int labels [N]: d loss_n / d scores_n = softmax(scores_n) - onehot(label_n),
 * scaled by the incoming gradient and, for reduction 'mean', divided by N. The node's optional
 * log_prob output is reused when present instead of recomputing LogSoftmax.
 */
export const softmaxCrossEntropyLossGradient: GradientRule = {
  opType: 'SoftmaxCrossEntropyLoss',
  differentiableInputs: [0],
  differentiableOutputs: [0],
  unsupportedReason: (node, graph) => unsupportedLoss(node, graph, 'scores'),
  gradients: (node, ctx) => [
    () => {
      const [scores, labels] = node.inputs as [string, string];
      const logProb = node.outputs[1] || ctx.op('LogSoftmax', [scores], { axis: attr.int(1) });
      const residual = ctx.op('Sub', [ctx.op('Exp', [logProb]), oneHot(ctx, labels, scores)]);
      return scaleByReduction(ctx, node, residual, labels);
    },
  ],
};
