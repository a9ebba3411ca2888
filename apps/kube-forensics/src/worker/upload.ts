/**
 * One artifact to S3: the stream goes through a SHA-256 and byte counter on its way into aws-kit's
 * streaming multipart upload, so what the manifest records is what S3 received, and nothing is staged
 * on disk. (Upstream also set the `bucket-owner-full-control` ACL; aws-kit's `uploadStream` has no ACL
 * option yet, and buckets with ObjectOwnership=BucketOwnerEnforced, the AWS default since 2023, ignore
 * ACLs anyway.)
 */
import { createHash } from 'node:crypto';
import { pipeline, type Readable, Transform } from 'node:stream';
import { type AwsClients, uploadStream } from '@keiko/aws-kit';

export interface UploadResult {
  key: string;
  size: number;
  sha256: string;
}

export type Uploader = (key: string, body: Readable, contentType: string) => Promise<UploadResult>;

export function s3Uploader(aws: AwsClients, bucket: string, onBytes?: (n: number) => void): Uploader {
  return async (key, body, contentType) => {
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        onBytes?.(chunk.length);
        done(null, chunk);
      },
    });
    // pipeline forwards a source failure (an unreadable file) into the upload, which then aborts.
    pipeline(body, meter, () => {});
    await uploadStream(aws, bucket, key, meter, { contentType });
    return { key, size, sha256: hash.digest('hex') };
  };
}
