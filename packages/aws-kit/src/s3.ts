/**
 * Streaming uploads to S3: a stream of unknown length goes up as a multipart upload in parts of
 * `partSizeBytes` (at least 5 MiB, S3's minimum), never buffered whole in memory. A failed upload
 * is aborted, so no orphaned parts are left to bill.
 */
import type { Readable } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import type { AwsClients } from './clients.js';

export interface StreamUploadOptions {
  /** Bytes per part (default and minimum 5 MiB). */
  partSizeBytes?: number;
  /** Parts in flight at once (default 4). */
  concurrency?: number;
  contentType?: string;
  /** Progress callback with bytes uploaded so far. */
  onProgress?: (loadedBytes: number) => void;
}

const MIN_PART = 5 * 1024 * 1024;

/** Uploads `body` to `s3://bucket/key`; resolves with the object's ETag. */
export async function uploadStream(
  aws: AwsClients,
  bucket: string,
  key: string,
  body: Readable,
  options: StreamUploadOptions = {},
): Promise<string | undefined> {
  const upload = new Upload({
    client: aws.s3,
    params: {
      Bucket: bucket,
      Key: key,
      Body: body,
      ...(options.contentType ? { ContentType: options.contentType } : {}),
    },
    partSize: Math.max(MIN_PART, options.partSizeBytes ?? MIN_PART),
    queueSize: options.concurrency ?? 4,
    leavePartsOnError: false,
  });
  if (options.onProgress) upload.on('httpUploadProgress', (p) => options.onProgress!(p.loaded ?? 0));
  const out = await upload.done();
  return out.ETag;
}
