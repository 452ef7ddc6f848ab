import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AdaptiveK } from '../adasync';
import type { LambdaArchitecture } from '../cost';
import {
  AlreadyInRoundError,
  BacklogFullError,
  JobNotRunningError,
  LearnerFencedError,
  NotFoundError,
  StaleVersionError,
  VersionAlreadyCommittedError,
} from '../errors';
import { ddbKeys } from '../keys';
import type { JobSpec } from '../spec';
import type { Usage } from '../usage';
import { TableStore } from './table';
import { applied, isConditionFailed } from './translate';

export const JobStatus = { running: 'RUNNING', done: 'DONE', stopped: 'STOPPED', failed: 'FAILED' } as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** One acknowledged gradient waiting to be applied. Kept short: the job item is the hot key. */
export interface PendingEntry {
  readonly grad: string;
  readonly learner: string;
  /** The version the gradient was computed on. */
  readonly version: number;
  readonly loss: number;
  /** Arrival time (ms since epoch): a full round older than the lease may be taken over. */
  readonly at: number;
  /** Time the gradient took: the mini-batch computation and the injected straggler delay, ms. */
  readonly ms: number;
}

export interface StalenessStats {
  readonly applied: number;
  readonly sum: number;
  readonly max: number;
  /** histogram[s] counts gradients applied with staleness s; the last bucket holds s >= its index. */
  readonly histogram: readonly number[];
}

export interface Evaluation {
  readonly version: number;
  readonly loss: number;
  readonly accuracy: number;
}

export interface JobState {
  readonly jobId: string;
  readonly status: JobStatus;
  readonly reason?: string;
  readonly spec: JobSpec;
  readonly version: number;
  /** K of the round being filled: the spec's K, or AdaSync's current one. */
  readonly k: number;
  readonly adaptive?: AdaptiveK;
  readonly pending: readonly PendingEntry[];
  /** Learners with a gradient in `pending` (variants whose rounds take one gradient per learner). */
  readonly members: readonly string[];
  /** Per learner, the ordinal of its last accepted arrival: makes a retried arrival idempotent. */
  readonly lastArrival: Readonly<Record<string, number>>;
  readonly pushed: number;
  /** Rounds redone by another learner after their aggregator stalled. */
  readonly takeovers?: number;
  readonly stats: StalenessStats;
  readonly lastLoss?: number;
  readonly lastEval?: Evaluation;
  readonly createdAt: number;
  readonly lastCommitAt?: number;
  readonly finishedAt?: number;
  readonly aggregator?: { readonly by: string; readonly until: number; readonly version: number };
}

export interface CommitGradient {
  readonly grad: string;
  /** Compute time of the gradient (PendingEntry.ms): what a simulation is fed to predict a job. */
  readonly ms: number;
  readonly learner: string;
  readonly version: number;
  readonly staleness: number;
  readonly eta: number;
  readonly loss: number;
}

/** The audit record of one version: replaying these from w[0] reproduces the weights. */
export interface CommitRecord {
  readonly version: number;
  /** K of this round (AdaSync varies it). */
  readonly k: number;
  readonly grads: readonly CommitGradient[];
  readonly loss: number;
  readonly committedAt: number;
  readonly aggregator: string;
  readonly eval?: Evaluation;
}

export interface LearnerCounters extends Usage {
  readonly pushed: number;
  readonly rejected: number;
  readonly coldStarts: number;
  readonly initMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly invocations: number;
  /** Lambda billing: invocation wall time times memory. */
  readonly gbSeconds: number;
}

/** Every counter of a learner item; an item written before a counter existed reads it as 0. */
const LEARNER_COUNTERS = [
  'pushed',
  'rejected',
  'coldStarts',
  'initMs',
  'busyMs',
  'idleMs',
  'invocations',
  'gbSeconds',
  'ddbReadUnits',
  'ddbWriteUnits',
  's3Puts',
  's3Gets',
  's3BytesPut',
] as const satisfies readonly (keyof LearnerCounters)[];

export interface InvocationRecord {
  readonly epoch: number;
  readonly start: number;
  readonly end: number;
  readonly coldStart: boolean;
  readonly initMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly pushed: number;
}

export interface LearnerRecord extends LearnerCounters {
  readonly learner: string;
  readonly epoch: number;
  /** Last heartbeat (ms since epoch). */
  readonly aliveAt: number;
  /** What the learner's functions run on (absent in items older than the field). */
  readonly architecture?: LambdaArchitecture;
  readonly history: readonly InvocationRecord[];
}

/** DynamoDB's BatchGetItem takes at most this many keys. */
const BATCH_GET_MAX = 100;

export const EMPTY_STATS: StalenessStats = { applied: 0, sum: 0, max: 0, histogram: [] };

/** How an arrival is conditioned; derived from the variant rule by the protocol. */
export interface ArrivalRule {
  /** One gradient per learner among the pending ones. */
  readonly distinct: boolean;
  /** Sync variants: accepted only on this version and while the round has room for K. */
  readonly onlyVersion?: number;
  /** Variants that never wait: accepted only while fewer gradients than this are pending. */
  readonly maxPending?: number;
  readonly k: number;
}

export interface Arrival {
  readonly state: JobState;
  /**
   * Position of this gradient in `pending`; it is applied by version `state.version + floor(index / k) + 1`.
   * -1 when a retried arrival finds its first attempt accepted and already applied.
   */
  readonly index: number;
}

/** The job, commit and learner items of one DynamoDB table (DESIGN.md §2). */
export class JobStore extends TableStore {
  private updateJob(jobId: string, input: Omit<UpdateCommandInput, 'TableName' | 'Key'>) {
    return this.update(`job ${jobId}`, ddbKeys.job(jobId), input);
  }

  async createJob(jobId: string, spec: JobSpec, now: number): Promise<void> {
    const item = {
      ...ddbKeys.job(jobId),
      jobId,
      status: JobStatus.running,
      spec,
      version: 0,
      k: spec.k,
      pending: [],
      lastArrival: {},
      pushed: 0,
      stats: EMPTY_STATS,
      createdAt: now,
    };
    // The index entry first: one without its job is skipped by listJobs; a job without one would be invisible.
    await this.call('job index', () =>
      this.db.send(
        new PutCommand({ TableName: this.table, Item: { ...ddbKeys.jobIndexEntry(jobId, now), jobId } }),
      ),
    );
    await this.call(`job ${jobId}`, () =>
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async getJob(jobId: string): Promise<JobState> {
    const result = await this.call(`job ${jobId}`, () =>
      this.db.send(new GetCommand({ TableName: this.table, Key: ddbKeys.job(jobId), ConsistentRead: true })),
    );
    if (!result.Item) throw new NotFoundError(`job ${jobId} not found`);
    return toJobState(result.Item);
  }

  /**
   * Appends one acknowledged gradient to the round. Concurrency: DynamoDB applies updates to one
   * item one at a time, so each arrival sees the pending list its predecessors left and its
   * condition is checked against exactly that. The returned ALL_NEW image tells the caller its
   * position: the arrival that lands at index K-1 owns the aggregation of that round.
   * `ordinal` increases with every gradient of a learner: if the response to an accepted arrival
   * is lost and the SDK retries, the retry fails on `lastArrival` instead of appending twice.
   * A failed condition is re-read to tell why (dynalite ignores ReturnValuesOnConditionCheckFailure).
   */
  async arrive(jobId: string, entry: PendingEntry, rule: ArrivalRule, ordinal: number): Promise<Arrival> {
    const conditions = [
      '#status = :running',
      '(attribute_not_exists(lastArrival.#learner) OR lastArrival.#learner < :ordinal)',
    ];
    const values: Record<string, unknown> = {
      ':running': JobStatus.running,
      ':entry': [entry],
      ':one': 1,
      ':ordinal': ordinal,
    };
    let update =
      'SET pending = list_append(pending, :entry), lastArrival.#learner = :ordinal ADD pushed :one';
    if (rule.distinct) {
      conditions.push('NOT contains(members, :learner)');
      values[':learner'] = entry.learner;
      values[':me'] = new Set([entry.learner]);
      update += ', members :me';
    }
    if (rule.maxPending !== undefined) {
      conditions.push('size(pending) < :cap');
      values[':cap'] = rule.maxPending;
    }
    if (rule.onlyVersion !== undefined) {
      conditions.push('version = :v', 'size(pending) < :k');
      values[':v'] = rule.onlyVersion;
      values[':k'] = rule.k;
    }
    try {
      const result = await this.updateJob(jobId, {
        UpdateExpression: update,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: { '#status': 'status', '#learner': entry.learner },
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      });
      const state = toJobState(result.Attributes ?? {});
      return { state, index: state.pending.length - 1 };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const state = await this.getJob(jobId);
      const index = state.pending.findIndex((pending) => pending.grad === entry.grad);
      if (index >= 0) return { state, index };
      if ((state.lastArrival[entry.learner] ?? -1) >= ordinal) {
        // A newer arrival of this learner is in: either this gradient's own first attempt was
        // accepted and has been applied since, or a newer invocation took the learner over and
        // this one (fenced, or a stale re-delivery) must not be told it was accepted.
        if (await this.wasApplied(jobId, entry.grad, entry.version)) return { state, index: -1 };
        throw new LearnerFencedError(entry.learner);
      }
      if (state.status !== JobStatus.running) throw new JobNotRunningError(jobId, state.status);
      if (rule.onlyVersion !== undefined && !state.members.includes(entry.learner)) {
        throw new StaleVersionError(entry.version, state.version);
      }
      if (rule.distinct) throw new AlreadyInRoundError(entry.learner);
      throw new BacklogFullError(state.pending.length);
    }
  }

  private async wasApplied(jobId: string, grad: string, computedOn: number): Promise<boolean> {
    const commits = await this.listCommits(jobId, computedOn);
    return commits.some((commit) => commit.grads.some((g) => g.grad === grad));
  }

  /**
   * Makes `fromVersion + 1` current by removing the round's K gradients from the head of
   * `pending`. Arrivals that landed meanwhile sit behind them and stay. The condition on the
   * version makes a second aggregator of the same round (a takeover) fail here, harmlessly.
   */
  async commit(
    jobId: string,
    commit: {
      fromVersion: number;
      consumed: readonly PendingEntry[];
      stats: StalenessStats;
      loss: number;
      distinct: boolean;
      /** K and the loss averages AdaSync keeps; the next round uses this K. */
      adaptive: AdaptiveK;
    },
    now: number,
  ): Promise<JobState> {
    // Highest index first: DynamoDB resolves all indexes against the list before the update,
    // dynalite removes them one by one in order; descending order means the same to both.
    const removes = commit.consumed.map((_, i) => `pending[${commit.consumed.length - 1 - i}]`);
    removes.push('aggregator');
    const values: Record<string, unknown> = {
      ':from': commit.fromVersion,
      ':next': commit.fromVersion + 1,
      ':stats': commit.stats,
      ':loss': commit.loss,
      ':now': now,
      ':k': commit.adaptive.k,
      ':adaptive': commit.adaptive,
    };
    let update = `SET version = :next, stats = :stats, lastLoss = :loss, lastCommitAt = :now, k = :k, adaptive = :adaptive REMOVE ${removes.join(', ')}`;
    if (commit.distinct) {
      update += ' DELETE members :consumed';
      values[':consumed'] = new Set(commit.consumed.map((e) => e.learner));
    }
    try {
      const result = await this.updateJob(jobId, {
        UpdateExpression: update,
        // Nothing commits once the job has ended (a stop must not be followed by new versions).
        ConditionExpression: 'version = :from AND #status = :running',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ...values, ':running': JobStatus.running },
        ReturnValues: 'ALL_NEW',
      });
      return toJobState(result.Attributes ?? {});
    } catch (error) {
      if (isConditionFailed(error)) throw new VersionAlreadyCommittedError(commit.fromVersion + 1);
      throw error;
    }
  }

  /** Writes the audit record of a version once; false when it already exists (a redo). */
  async putCommitRecord(jobId: string, record: CommitRecord): Promise<boolean> {
    return applied(() =>
      this.call(`commit ${record.version}`, () =>
        this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...ddbKeys.commit(jobId, record.version), ...record },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      ),
    );
  }

  /**
   * Claims a stalled round's aggregation: succeeds only while `version` is still current and no
   * other claim is live, so among many waiting learners one redoes the work.
   */
  async claimAggregation(
    jobId: string,
    version: number,
    by: string,
    leaseMs: number,
    now: number,
  ): Promise<boolean> {
    return applied(() =>
      this.updateJob(jobId, {
        UpdateExpression: 'SET aggregator = :lease ADD takeovers :one',
        ConditionExpression:
          'version = :v AND (attribute_not_exists(aggregator) OR aggregator.#until < :now)',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: {
          ':v': version,
          ':now': now,
          ':lease': { by, until: now + leaseMs, version },
          ':one': 1,
        },
      }),
    );
  }

  /** Ends a running job; false when it had already ended (only the first reason is kept). */
  async finish(
    jobId: string,
    status: Exclude<JobStatus, 'RUNNING'>,
    reason: string,
    now: number,
  ): Promise<boolean> {
    return applied(() =>
      this.updateJob(jobId, {
        UpdateExpression: 'SET #status = :status, reason = :reason, finishedAt = :now',
        ConditionExpression: '#status = :running',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': status,
          ':reason': reason,
          ':now': now,
          ':running': JobStatus.running,
        },
      }),
    );
  }

  /** Stores an evaluation on its commit item and, unless a newer one is there, on the job item. */
  async recordEvaluation(jobId: string, evaluation: Evaluation): Promise<void> {
    await this.call(`commit ${evaluation.version}`, () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: ddbKeys.commit(jobId, evaluation.version),
          UpdateExpression: 'SET #eval = :eval',
          ExpressionAttributeNames: { '#eval': 'eval' },
          ExpressionAttributeValues: { ':eval': evaluation },
        }),
      ),
    );
    // A newer evaluation already there wins.
    await applied(() =>
      this.updateJob(jobId, {
        UpdateExpression: 'SET lastEval = :eval',
        ConditionExpression: 'attribute_not_exists(lastEval) OR lastEval.version < :v',
        ExpressionAttributeValues: { ':eval': evaluation, ':v': evaluation.version },
      }),
    );
  }

  /**
   * Records of committed versions, in version order; `afterVersion` skips the ones a poller
   * already has. A record is written before its version is committed (aggregator.ts), and a
   * commit can still fail (a takeover won, the job ended), so only records up to the job's
   * version are returned: readers never see a version that is not committed.
   */
  async listCommits(jobId: string, afterVersion = 0): Promise<CommitRecord[]> {
    const { version } = await this.getJob(jobId);
    if (version <= afterVersion) return [];
    // One condition on the sort key is all a query takes: a range of commit keys.
    return (await this.query(jobId, 'sk BETWEEN :first AND :last', {
      ':first': ddbKeys.commit(jobId, afterVersion + 1).sk,
      ':last': ddbKeys.commit(jobId, version).sk,
    })) as unknown as CommitRecord[];
  }

  async listLearners(jobId: string): Promise<LearnerRecord[]> {
    const items = await this.query(jobId, 'begins_with(sk, :prefix)', { ':prefix': ddbKeys.learnerPrefix });
    return items.map((item) => ({
      learner: String(item.learner),
      epoch: Number(item.epoch ?? 0),
      aliveAt: Number(item.aliveAt ?? 0),
      architecture: item.architecture as LambdaArchitecture | undefined,
      ...(Object.fromEntries(
        LEARNER_COUNTERS.map((c) => [c, Number(item[c] ?? 0)]),
      ) as unknown as LearnerCounters),
      history: (item.history as InvocationRecord[] | undefined) ?? [],
    }));
  }

  /**
   * The newest jobs first, from the job index (one partition, newest key first) and then their
   * job items in batches: no scan of the table, whose items are mostly commits.
   */
  async listJobs(limit = 100): Promise<JobState[]> {
    const index = await this.call('job index', () =>
      this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': ddbKeys.jobIndexPk },
          ScanIndexForward: false,
          Limit: limit,
        }),
      ),
    );
    const ids = (index.Items ?? []).map((item) => String(item.jobId));
    const jobs: JobState[] = [];
    for (let start = 0; start < ids.length; start += BATCH_GET_MAX) {
      let keys: Record<string, unknown>[] | undefined = ids
        .slice(start, start + BATCH_GET_MAX)
        .map(ddbKeys.job);
      while (keys && keys.length > 0) {
        const requested: Record<string, unknown>[] = keys;
        const page: BatchGetCommandOutput = await this.call('jobs', () =>
          this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: requested } } })),
        );
        for (const item of page.Responses?.[this.table] ?? []) jobs.push(toJobState(item));
        keys = page.UnprocessedKeys?.[this.table]?.Keys;
      }
    }
    return jobs.sort((a, b) => b.createdAt - a.createdAt);
  }

  private async query(
    jobId: string,
    sortKeyCondition: string,
    values: Record<string, string>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.call(`job ${jobId}`, () =>
        this.db.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: `pk = :pk AND ${sortKeyCondition}`,
            ExpressionAttributeValues: { ':pk': ddbKeys.job(jobId).pk, ...values },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

function toJobState(item: Record<string, unknown>): JobState {
  const members = item.members as Set<string> | undefined;
  return {
    ...(item as unknown as JobState),
    pending: (item.pending as PendingEntry[] | undefined) ?? [],
    members: members ? [...members] : [],
    lastArrival: (item.lastArrival as Record<string, number> | undefined) ?? {},
    k: Number(item.k ?? (item.spec as JobSpec).k),
  };
}
