import { attr, tensor } from '../graph';
import type { GradientContext } from './rule';

/**
 * Undoes numpy-style broadcasting: sums `grad` (shaped like a broadcast result) down to the
 * shape of `target`. Every elementwise binary op needs this for the operand that was broadcast.
 */
export function sumToShapeOf(ctx: GradientContext, grad: string, target: string): string {
  const known = ctx.staticShape(target);
  const staticDims = known?.every((dim): dim is number => typeof dim === 'number') ? known : undefined;
  if (staticDims?.every((dim) => dim !== 1)) {
    // With no size-1 dims the target matches the trailing dims of `grad` exactly, so only
    // the leading (broadcast) dims need summing: flatten them into one axis and reduce it.
    // Reshapes that would not change the shape are left out: each costs a kernel launch.
    const size = staticDims.reduce((a, b) => a * b, 1);
    const gradShape = ctx.staticShape(grad);
    const rows =
      gradShape?.length === 2 && gradShape[1] === size
        ? grad
        : ctx.op('Reshape', [grad, ctx.int64([-1, size])]);
    const summed = ctx.op('ReduceSum', [rows, ctx.int64([0])], { keepdims: attr.int(0) });
    return staticDims.length === 1 ? summed : ctx.op('Reshape', [summed, ctx.int64(staticDims)]);
  }
  // General case, decided at run time: left-pad the target's shape with ones to the rank of
  // `grad`; the broadcast axes are exactly those where the padded shape is 1.
  const targetShape = ctx.op('Shape', [target]);
  const rank = (shape: string) => ctx.op('Shape', [shape]);
  const padCount = ctx.op('Sub', [rank(ctx.op('Shape', [grad])), rank(targetShape)]);
  const padding = ctx.op('ConstantOfShape', [padCount], { value: attr.tensor(tensor.int64([1])) });
  const padded = ctx.op('Concat', [padding, targetShape], { axis: attr.int(0) });
  const isOne = ctx.op('Equal', [padded, ctx.int64([1], [])]);
  const axes = ctx.op('Reshape', [ctx.op('NonZero', [isOne]), ctx.int64([-1])]);
  const summed = ctx.op('ReduceSum', [grad, axes], {
    keepdims: attr.int(1),
    noop_with_empty_axes: attr.int(1),
  });
  return ctx.op('Reshape', [summed, targetShape]);
}
