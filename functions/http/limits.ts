/** The largest job spec `POST /jobs` takes. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The largest file `POST /uploads/{kind}` takes: a Lambda request carries at most 6 MB, and API
 * Gateway sends a binary body base64-encoded (4/3 larger). Larger files: `kasync train` on the
 * embedded stack reads local paths itself; on AWS, copy them to S3 and give their s3:// URI.
 */
export const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;
