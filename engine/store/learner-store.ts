import { GetCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { lambdaArchitecture } from '../cost';
import { LearnerFencedError } from '../errors';
import { ddbKeys } from '../keys';
import type { InvocationRecord, LearnerCounters } from './job-store';
import { TableStore } from './table';
import { applied, isConditionFailed } from './translate';

/** Who holds a learner's current invocation, as its learner item says. */
export interface LearnerClaim {
  readonly epoch: number;
  readonly claim: string;
  readonly aliveAt: number;
  /** The last epoch that finished normally (recorded its history). */
  readonly endedEpoch?: number;
}

/**
 * The learner items' writes: one invocation at a time per learner. An invocation claims its
 * epoch with a random nonce (so an SDK retry of its own claim succeeds, a second delivery does
 * not), proves it is alive with heartbeats that also flush its counters, and is fenced off the
 * moment another invocation takes over its learner.
 */
export class LearnerStore extends TableStore {
  private updateLearner(
    jobId: string,
    learner: string,
    input: Omit<UpdateCommandInput, 'TableName' | 'Key'>,
  ) {
    return this.update(`learner ${learner}`, ddbKeys.learner(jobId, learner), input);
  }

  /**
   * Claims `epoch`; returns undefined when claimed, else the claim that stands in the way.
   * The cold-start counters are added with the claim, so a killed invocation still counts.
   */
  async claimEpoch(
    jobId: string,
    learner: string,
    epoch: number,
    nonce: string,
    now: number,
    start: { coldStart: boolean; initMs: number },
  ): Promise<LearnerClaim | undefined> {
    try {
      await this.updateLearner(jobId, learner, {
        UpdateExpression:
          'SET epoch = :e, claim = :nonce, aliveAt = :now, learner = :learner, architecture = :arch ADD invocations :one, coldStarts :cold, initMs :init',
        ConditionExpression: 'attribute_not_exists(epoch) OR epoch < :e OR (epoch = :e AND claim = :nonce)',
        ExpressionAttributeValues: {
          ':e': epoch,
          ':nonce': nonce,
          ':now': now,
          ':learner': learner,
          // Prices GB-seconds: Lambda charges arm64 less than x86_64.
          ':arch': lambdaArchitecture(),
          ':one': 1,
          ':cold': start.coldStart ? 1 : 0,
          ':init': start.coldStart ? Math.round(start.initMs) : 0,
        },
      });
      return undefined;
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return this.getClaim(jobId, learner);
    }
  }

  async getClaim(jobId: string, learner: string): Promise<LearnerClaim> {
    const result = await this.call(`learner ${learner}`, () =>
      this.db.send(
        new GetCommand({ TableName: this.table, Key: ddbKeys.learner(jobId, learner), ConsistentRead: true }),
      ),
    );
    const item = result.Item ?? {};
    return {
      epoch: Number(item.epoch ?? 0),
      claim: String(item.claim ?? ''),
      aliveAt: Number(item.aliveAt ?? 0),
      endedEpoch: item.endedEpoch === undefined ? undefined : Number(item.endedEpoch),
    };
  }

  /**
   * Takes over a claim whose holder stopped beating (its process died and the platform retried
   * the invocation). The taker runs as the next epoch, so its gradient ids and arrival ordinals
   * can never collide with those of the invocation it replaces.
   */
  async takeOver(
    jobId: string,
    learner: string,
    seen: LearnerClaim,
    nonce: string,
    now: number,
  ): Promise<number | undefined> {
    const took = await applied(() =>
      this.updateLearner(jobId, learner, {
        UpdateExpression: 'SET epoch = :next, claim = :nonce, aliveAt = :now',
        ConditionExpression: 'epoch = :e AND claim = :claim AND aliveAt = :seen',
        ExpressionAttributeValues: {
          ':next': seen.epoch + 1,
          ':e': seen.epoch,
          ':claim': seen.claim,
          ':seen': seen.aliveAt,
          ':nonce': nonce,
          ':now': now,
        },
      }),
    );
    return took ? seen.epoch + 1 : undefined;
  }

  /** Proves the claim is still this invocation's and flushes counters; throws LearnerFencedError if not. */
  async heartbeat(
    jobId: string,
    learner: string,
    nonce: string,
    delta: Partial<LearnerCounters>,
    now: number,
  ): Promise<void> {
    const { names, values, adds } = counterUpdate(delta);
    try {
      await this.updateLearner(jobId, learner, {
        UpdateExpression: `SET aliveAt = :now${adds ? ` ADD ${adds}` : ''}`,
        ConditionExpression: 'claim = :nonce',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...values, ':now': now, ':nonce': nonce },
      });
    } catch (error) {
      if (isConditionFailed(error)) throw new LearnerFencedError(learner);
      throw error;
    }
  }

  /** Records a finished invocation: its last counters and its history record. */
  async endInvocation(
    jobId: string,
    learner: string,
    delta: Partial<LearnerCounters>,
    record: InvocationRecord,
  ): Promise<void> {
    const { names, values, adds } = counterUpdate(delta);
    await this.updateLearner(jobId, learner, {
      UpdateExpression: `SET history = list_append(if_not_exists(history, :empty), :record), endedEpoch = :e${adds ? ` ADD ${adds}` : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ...values, ':record': [record], ':empty': [], ':e': record.epoch },
    });
  }
}

function counterUpdate(delta: Partial<LearnerCounters>) {
  const entries = Object.entries(delta).filter(([, value]) => value !== undefined && value !== 0);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const adds = entries
    .map(([name, value], i) => {
      names[`#c${i}`] = name;
      values[`:c${i}`] = value;
      return `#c${i} :c${i}`;
    })
    .join(', ');
  return { names: entries.length > 0 ? names : undefined, values, adds };
}
