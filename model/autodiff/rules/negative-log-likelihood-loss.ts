import type { GradientRule } from '../rule';
import { oneHot, scaleByReduction, unsupportedLoss } from '../tensor-ops';

/**
 * For log-probabilities [N, C] (usually a LogSoftmax output, as PyTorch's cross_entropy exports)
 * and int labels [N]: d loss_n / d input_n = -onehot(label_n), scaled by the reduction.
 */
export const negativeLogLikelihoodLossGradient: GradientRule = {
  opType: 'NegativeLogLikelihoodLoss',
  differentiableInputs: [0],
  unsupportedReason: (node, graph) => unsupportedLoss(node, graph, 'input'),
  gradients: (node, ctx) => [
    () => {
      const [input, labels] = node.inputs as [string, string];
      return scaleByReduction(ctx, node, ctx.op('Neg', [oneHot(ctx, labels, input)]), labels);
    },
  ],
};
