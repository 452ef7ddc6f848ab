import { type DynamoDBDocumentClient, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { storeCall } from './translate';

type Key = Record<string, string>;

/** What the stores of kasync's one table share: the client, and SDK failures translated. */
export abstract class TableStore {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    readonly table: string,
    private readonly endpoint: string,
  ) {}

  /** Runs one request; `what` names the item in errors. */
  protected call<T>(what: string, op: () => Promise<T>): Promise<T> {
    return storeCall('DynamoDB', this.endpoint, what, op);
  }

  protected update(what: string, key: Key, input: Omit<UpdateCommandInput, 'TableName' | 'Key'>) {
    return this.call(what, () =>
      this.db.send(new UpdateCommand({ TableName: this.table, Key: key, ...input })),
    );
  }
}
