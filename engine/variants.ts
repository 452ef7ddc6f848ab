/**
 * The six parameter-server variants of Dutta et al. (DESIGN.md §1), as data. The arrival
 * condition, the aggregation trigger and the learner's behaviour after a push are all read
 * from this table, so adding a variant is adding a row.
 */
export const AfterPush = {
  /** Wait until the version that applies this gradient is committed, then pull it. */
  waitForNewVersion: 'wait-for-new-version',
  /** Keep computing on the same version until it is superseded. */
  keepVersion: 'keep-version',
  /** Pull the newest version and continue at once. */
  pullNewest: 'pull-newest',
} as const;
export type AfterPush = (typeof AfterPush)[keyof typeof AfterPush];

export interface VariantRule {
  /** Gradients computed on an older version are refused (counted as rejected). */
  readonly rejectsStale: boolean;
  /** A round holds at most one gradient per learner. */
  readonly distinctLearners: boolean;
  readonly afterPush: AfterPush;
  /** K is fixed to this value whatever the spec says (`learners` means P). */
  readonly fixedK?: 'learners' | 1;
}

export const VARIANTS = {
  sync: {
    rejectsStale: true,
    distinctLearners: true,
    afterPush: AfterPush.waitForNewVersion,
    fixedK: 'learners',
  },
  'k-sync': { rejectsStale: true, distinctLearners: true, afterPush: AfterPush.waitForNewVersion },
  'k-batch-sync': { rejectsStale: true, distinctLearners: false, afterPush: AfterPush.keepVersion },
  async: { rejectsStale: false, distinctLearners: false, afterPush: AfterPush.pullNewest, fixedK: 1 },
  'k-async': { rejectsStale: false, distinctLearners: true, afterPush: AfterPush.waitForNewVersion },
  'k-batch-async': { rejectsStale: false, distinctLearners: false, afterPush: AfterPush.pullNewest },
} as const satisfies Record<string, VariantRule>;

export type VariantName = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as VariantName[];

export function variantRule(name: VariantName): VariantRule {
  return VARIANTS[name];
}
