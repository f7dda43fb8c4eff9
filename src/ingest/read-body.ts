import type { IncomingMessage } from "node:http";
import type { Transform } from "node:stream";
import zlib from "node:zlib";
import { HttpError } from "../http/errors.js";

export interface ReadBodyOptions {
  /** Most bytes a body may have, both as received and once decoded (a gzip bomb stops here). */
  limit: number;
  /** The whole body must arrive within this time, or the read fails with 408. */
  timeoutMs: number;
}

/**
 * Reads a request's body into memory, decoding `Content-Encoding: gzip | deflate | identity`.
 * Every way it can fail is an HttpError with the status the caller should answer:
 * 413 over the limit (a declared Content-Length over it fails before a byte is read),
 * 415 an encoding other than those, 400 a body that is not what its encoding says or that was
 * cut short, 408 a body that did not arrive in time.
 */
export function readBody(req: IncomingMessage, opts: ReadBodyOptions): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(
      413,
      "payload_too_large",
      `The request body is larger than ${Math.round(opts.limit / 1024)} KB.`,
    );
  const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  let decoder: Transform | null;
  if (encoding === "identity" || encoding === "") decoder = null;
  else if (encoding === "gzip") decoder = zlib.createGunzip();
  else if (encoding === "deflate") decoder = zlib.createInflate();
  else {
    return Promise.reject(
      new HttpError(
        415,
        "unsupported_encoding",
        "Content-Encoding must be gzip, deflate or identity (one of them, once).",
      ),
    );
  }
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > opts.limit) {
    decoder?.destroy();
    return Promise.reject(tooLarge());
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let decoded = 0;
    let settled = false;

    const keep = (chunk: Buffer) => {
      decoded += chunk.length;
      if (decoded > opts.limit) finish(tooLarge());
      else chunks.push(chunk);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > opts.limit) finish(tooLarge());
      else if (decoder) decoder.write(chunk);
      else keep(chunk);
    };
    const onEnd = () => {
      if (decoder) decoder.end();
      else finish(null);
    };
    const onCut = () => {
      if (!req.complete) {
        finish(new HttpError(400, "incomplete_body", "The request body was cut short."));
      }
    };
    const onDecodeError = () =>
      finish(
        new HttpError(
          400,
          "invalid_encoding",
          `The request body is not valid ${encoding} data (Content-Encoding: ${encoding}).`,
        ),
      );
    const onDecoded = () => finish(null);
    const timer = setTimeout(
      () =>
        finish(
          new HttpError(
            408,
            "body_timeout",
            `The request body did not arrive within ${Math.round(opts.timeoutMs / 1000)} s.`,
          ),
        ),
      opts.timeoutMs,
    );

    function finish(error: HttpError | null): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onCut);
      req.off("error", onCut);
      if (decoder) {
        decoder.off("data", keep);
        decoder.off("end", onDecoded);
        decoder.off("error", onDecodeError);
        decoder.on("error", () => {});
        decoder.destroy();
      }
      if (error) {
        // The rest of the body, if any, is discarded as it comes (unless the caller closes the
        // connection), so that a kept-alive connection can carry its next request.
        req.resume();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks));
      }
    }

    if (decoder) {
      decoder.on("data", keep);
      decoder.on("end", onDecoded);
      decoder.on("error", onDecodeError);
    }
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onCut);
    req.on("error", onCut);
  });
}
