import { attr, intAttr, tensor } from '../../graph';
import type { GradientRule } from '../rule';
import {
  autoPadReason,
  beginPadsOnly,
  effectivePads,
  fitSpatial,
  transposedSize,
  type WindowAttributes,
  windowAttributes,
} from '../tensor-ops';

/**
 * Every input element receives, from each window containing it, that window's gradient divided
 * by the window's divisor. Per channel that is a transposed convolution with a kernel of ones,
 * so channels are folded into the batch axis ([N*C, 1, T...]) and one ConvTranspose serves any
 * channel count. The divisor is the kernel size, or with count_include_pad = 0 the number of
 * non-padding elements, counted by convolving a tensor of ones with the same window.
 */
export const averagePoolGradient: GradientRule = {
  opType: 'AveragePool',
  differentiableInputs: [0],
  unsupportedReason: (node) =>
    autoPadReason(node) ??
    (intAttr(node, 'ceil_mode', 0) === 0
      ? undefined
      : 'ceil_mode 1 is not supported; export with ceil_mode 0'),
  gradients: (node, ctx) => [
    () => {
      const x = node.inputs[0] as string;
      const window = windowAttributes(node) as WindowAttributes & { kernel: readonly number[] };
      const r = window.spatialRank;
      const pads = effectivePads(node, window);
      const ones = ctx.op('ConstantOfShape', [ctx.int64([1, 1, ...window.kernel])], {
        value: attr.tensor(tensor.float(ctx.floatType, [1], [1])),
      });
      const windowAttrs = {
        strides: attr.ints(window.strides),
        dilations: attr.ints(window.dilations),
      };
      const spatialShape = (of: string) =>
        ctx.op('Slice', [ctx.op('Shape', [of]), ctx.int64([2]), ctx.int64([2 + r])]);
      const withSpatial = (prefix: string, of: string) =>
        ctx.op('Concat', [prefix, spatialShape(of)], { axis: attr.int(0) });

      const dy = ctx.outputGrad();
      let divided: string;
      if (intAttr(node, 'count_include_pad', 0) === 1 || pads.every((pad) => pad === 0)) {
        const kernelSize = window.kernel.reduce((a, b) => a * b, 1);
        divided = ctx.op('Mul', [dy, ctx.scalar(1 / kernelSize)]);
      } else {
        const inputOnes = ctx.op('ConstantOfShape', [withSpatial(ctx.int64([1, 1]), x)], {
          value: attr.tensor(tensor.float(ctx.floatType, [1], [1])),
        });
        const counts = ctx.op('Conv', [inputOnes, ones], { ...windowAttrs, pads: attr.ints(pads) });
        divided = ctx.op('Div', [dy, counts]);
      }
      const perChannel = ctx.op('Reshape', [divided, withSpatial(ctx.int64([-1, 1]), dy)]);
      const spread = ctx.op('ConvTranspose', [perChannel, ones], {
        ...windowAttrs,
        pads: attr.ints(beginPadsOnly(pads)),
      });
      const batchAndChannels = ctx.op('Slice', [ctx.op('Shape', [x]), ctx.int64([0]), ctx.int64([2])]);
      const unfolded = ctx.op('Reshape', [spread, withSpatial(batchAndChannels, spread)]);
      return fitSpatial(ctx, unfolded, x, r, transposedSize(window, pads, window.kernel));
    },
  ],
};
