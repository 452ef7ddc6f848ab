import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError } from '../errors';
import { s3Keys } from '../keys';
import { storeCall } from './translate';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('kasync stores float32 blobs little-endian and needs a little-endian host');
}

/** Copies when the SDK hands back a view at an offset a Float32Array cannot start at. */
export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0)
    throw new Error(`float32 blob has ${bytes.byteLength} bytes, not a multiple of 4`);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

export function float32ToBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Immutable blobs in one S3 bucket: every key is written once (s3rver has no conditional PUT). */
export class BlobStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    private readonly endpoint: string,
  ) {}

  async put(key: string, body: Uint8Array | string, contentType = 'application/octet-stream'): Promise<void> {
    await storeCall('S3', this.endpoint, key, () =>
      this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
      ),
    );
  }

  async get(key: string): Promise<Uint8Array> {
    return storeCall('S3', this.endpoint, key, async () => {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!response.Body) throw new Error(`S3 returned no body for ${key}`);
      return response.Body.transformToByteArray();
    });
  }

  async exists(key: string): Promise<boolean> {
    try {
      await storeCall('S3', this.endpoint, key, () =>
        this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })),
      );
      return true;
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      throw error;
    }
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.put(key, JSON.stringify(value), 'application/json');
  }

  async getJson<T>(key: string): Promise<T> {
    return JSON.parse(new TextDecoder().decode(await this.get(key))) as T;
  }

  putWeights(job: string, version: number, weights: Float32Array): Promise<void> {
    return this.put(s3Keys.weights(job, version), float32ToBytes(weights));
  }

  async getWeights(job: string, version: number): Promise<Float32Array> {
    return bytesToFloat32(await this.get(s3Keys.weights(job, version)));
  }

  putGradient(job: string, gradId: string, gradient: Float32Array): Promise<void> {
    return this.put(s3Keys.gradient(job, gradId), float32ToBytes(gradient));
  }

  async getGradient(job: string, gradId: string): Promise<Float32Array> {
    return bytesToFloat32(await this.get(s3Keys.gradient(job, gradId)));
  }
}
