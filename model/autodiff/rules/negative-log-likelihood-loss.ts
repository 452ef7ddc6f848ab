import { stringAttr } from '../../graph';
import type { GradientRule } from '../rule';
import { LOSS_REDUCTIONS, oneHot, scaleByReduction } from '../tensor-ops';

/**
 * For log-probabilities [N, C] (usually a LogSoftmax output, as PyTorch's cross_entropy exports)
 * and int labels [N]: d loss_n / d input_n = -onehot(label_n), scaled by the reduction.
 */
export const negativeLogLikelihoodLossGradient: GradientRule = {
  opType: 'NegativeLogLikelihoodLoss',
  differentiableInputs: [0],
  unsupportedReason: (node, graph) => {
    if (node.inputs[2]) return 'class weights are not supported';
    if (node.attributes.ignore_index) return 'ignore_index is not supported';
    const reduction = stringAttr(node, 'reduction', 'mean');
    if (!LOSS_REDUCTIONS.includes(reduction)) return `reduction '${reduction}' is not supported`;
    const rank = graph.valueInfo(node.inputs[0] as string)?.shape?.length;
    return rank !== undefined && rank !== 2 ? `input must be [N, C], got rank ${rank}` : undefined;
  },
  gradients: (node, ctx) => [
    () => {
      const [input, labels] = node.inputs as [string, string];
      return scaleByReduction(ctx, node, ctx.op('Neg', [oneHot(ctx, labels, input)]), labels);
    },
  ],
};
