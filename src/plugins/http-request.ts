import { describeError, PluginError } from './errors.js';

export interface HttpRequest {
  readonly url: string;
  readonly method: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

export interface HttpReply {
  readonly status: number;
  /** The start of the reply body, for the log. */
  readonly body: string;
}

const REPLY_LOG_CHARS = 200;

/** Statuses where the same request may succeed later; other 4xx mean the request itself is wrong. */
function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** One HTTP request with Node's fetch; a non-2xx reply or a network failure is a `PluginError`. */
export async function httpRequest(req: HttpRequest): Promise<HttpReply> {
  const { url, method } = req;
  const signal = AbortSignal.any([req.signal, AbortSignal.timeout(req.timeoutMs)]);
  let status: number;
  let body: string;
  try {
    const init: RequestInit = { method, signal };
    if (req.headers) init.headers = req.headers;
    if (req.body !== undefined) init.body = req.body;
    const res = await fetch(url, init);
    status = res.status;
    body = (await res.text()).slice(0, REPLY_LOG_CHARS);
  } catch (err) {
    const why = req.signal.aborted ? 'shut down' : describeError(err);
    throw new PluginError(`${method} ${url}: ${why}`, { url }, !req.signal.aborted, { cause: err });
  }
  if (status < 200 || status > 299) {
    throw new PluginError(
      `${method} ${url}: HTTP ${status}`,
      { url, status, reply: body },
      retryableStatus(status),
    );
  }
  return { status, body };
}
