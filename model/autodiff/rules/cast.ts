import { intAttr, TensorTypeCode } from '../../graph';
import type { GradientRule } from '../rule';

const FLOAT_CODES: readonly number[] = [TensorTypeCode.float32, TensorTypeCode.float64];

/**
 * A cast between float types passes the gradient back in the input's type; a cast to an
 * integer or boolean type is piecewise constant and stops it.
 */
export const castGradient: GradientRule = {
  opType: 'Cast',
  differentiableInputs: (node) => (FLOAT_CODES.includes(intAttr(node, 'to', 0)) ? [0] : []),
  gradients: (node, ctx) => [() => ctx.op('CastLike', [ctx.outputGrad(), node.inputs[0] as string])],
};
