import { attr, stringAttr, TensorTypeCode } from '../../graph';
import type { GradientRule } from '../rule';

const REDUCTIONS = ['mean', 'sum', 'none'];

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
    if (!REDUCTIONS.includes(reduction)) return `reduction '${reduction}' is not supported`;
    const rank = graph.valueInfo(node.inputs[0] as string)?.shape?.length;
    return rank !== undefined && rank !== 2 ? `scores must be [N, C], got rank ${rank}` : undefined;
  },
  gradients: (node, ctx) => [
    () => {
      const [scores, labels] = node.inputs as [string, string];
      const logProb = node.outputs[1] || ctx.op('LogSoftmax', [scores], { axis: attr.int(1) });
      const scalarIndex = (index: number) => ctx.int64([index], []);
      const classCount = ctx.op('Gather', [ctx.op('Shape', [scores]), scalarIndex(1)], { axis: attr.int(0) });
      const classIds = ctx.op('Range', [scalarIndex(0), classCount, scalarIndex(1)]);
      const labelColumn = ctx.op('Unsqueeze', [
        ctx.op('Cast', [labels], { to: attr.int(TensorTypeCode.int64) }),
        ctx.int64([1]),
      ]);
      const oneHot = ctx.op('Cast', [ctx.op('Equal', [labelColumn, classIds])], {
        to: attr.int(TensorTypeCode[ctx.floatType]),
      });
      const residual = ctx.op('Sub', [ctx.op('Exp', [logProb]), oneHot]);
      const dy = ctx.outputGrad();
      switch (stringAttr(node, 'reduction', 'mean')) {
        case 'none':
          return ctx.op('Mul', [residual, ctx.op('Unsqueeze', [dy, ctx.int64([1])])]);
        case 'sum':
          return ctx.op('Mul', [residual, dy]);
        default: {
          const rows = ctx.op('Gather', [ctx.op('Shape', [labels]), scalarIndex(0)], { axis: attr.int(0) });
          const rowCount = ctx.op('Cast', [rows], { to: attr.int(TensorTypeCode[ctx.floatType]) });
          return ctx.op('Mul', [residual, ctx.op('Div', [dy, rowCount])]);
        }
      }
    },
  ],
};
