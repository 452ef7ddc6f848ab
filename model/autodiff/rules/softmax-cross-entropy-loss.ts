import { attr, stringAttr } from '../../graph';
import type { GradientRule } from '../rule';
import { LOSS_REDUCTIONS, oneHot, scaleByReduction } from '../tensor-ops';

/**
 * For scores [N, C] and int labels [N]: d loss_n / d scores_n = softmax(scores_n) - onehot(label_n),
 * scaled by the incoming gradient and, for reduction 'mean', divided by N. The node's optional
 * log_prob output is reused when present instead of recomputing LogSoftmax.
 */
export const softmaxCrossEntropyLossGradient: GradientRule = {
  opType: 'SoftmaxCrossEntropyLoss',
  differentiableInputs: [0],
  differentiableOutputs: [0],
  unsupportedReason: (node, graph) => {
    if (node.inputs[2]) return 'class weights are not supported';
    if (node.attributes.ignore_index) return 'ignore_index is not supported';
    const reduction = stringAttr(node, 'reduction', 'mean');
    if (!LOSS_REDUCTIONS.includes(reduction)) return `reduction '${reduction}' is not supported`;
    const rank = graph.valueInfo(node.inputs[0] as string)?.shape?.length;
    return rank !== undefined && rank !== 2 ? `scores must be [N, C], got rank ${rank}` : undefined;
  },
  gradients: (node, ctx) => [
    () => {
      const [scores, labels] = node.inputs as [string, string];
      const logProb = node.outputs[1] || ctx.op('LogSoftmax', [scores], { axis: attr.int(1) });
      const residual = ctx.op('Sub', [ctx.op('Exp', [logProb]), oneHot(ctx, labels, scores)]);
      return scaleByReduction(ctx, node, residual, labels);
    },
  ],
};
