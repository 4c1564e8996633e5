// The bottom of the API client: one request, its JSON answer, and RFC 9457
// problem documents turned into ApiError.

export interface FieldError {
  /** The field or parameter the message is about, when known. */
  field: string | null;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string | null;
  errors?: unknown[] | null;
}

/** A failed request: the server's problem document, or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = "ApiError";
    this.status = problem.status;
    this.problem = problem;
  }

  /** The title of the kind of error ("Not found"). */
  get title(): string {
    return this.problem.title;
  }

  /** What went wrong this time, or the title when the server said no more. */
  get detail(): string {
    return this.problem.detail || this.problem.title;
  }

  /**
   * Each entry of `errors`: either a string (`parameter \`source\` … is
   * required`, naming the field in backquotes) or an object with a
   * `field`/`name` and a `message`.
   */
  get fieldErrors(): FieldError[] {
    const list = Array.isArray(this.problem.errors) ? this.problem.errors : [];
    return list.map((entry): FieldError => {
      if (typeof entry === "string") {
        const named = /`([^`]+)`/.exec(entry);
        return { field: named ? named[1] : null, message: entry };
      }
      if (entry && typeof entry === "object") {
        const e = entry as Record<string, unknown>;
        const field = typeof e.field === "string" ? e.field : typeof e.name === "string" ? e.name : null;
        const message =
          typeof e.message === "string" ? e.message : typeof e.detail === "string" ? e.detail : JSON.stringify(entry);
        return { field, message };
      }
      return { field: null, message: String(entry) };
    });
  }
}

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | number | null | undefined>;
  body?: unknown;
  token?: string | null;
  signal?: AbortSignal;
}

/** `path` with the query parameters that have a value. */
export function withQuery(path: string, query?: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(name, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** One request; resolves to the parsed JSON body (undefined for 204), rejects with ApiError. */
export async function send<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method: options.method ?? "GET",
      headers,
      body,
      signal: options.signal,
      credentials: "same-origin",
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError({
      type: "about:blank",
      title: "Network error",
      status: 0,
      detail: "The server could not be reached. Check your connection and try again.",
    });
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!response.ok) {
    const p = (parsed && typeof parsed === "object" ? parsed : {}) as Partial<Problem>;
    throw new ApiError({
      type: typeof p.type === "string" ? p.type : "about:blank",
      title: typeof p.title === "string" ? p.title : response.statusText || `HTTP ${response.status}`,
      status: response.status,
      detail: typeof p.detail === "string" ? p.detail : null,
      errors: Array.isArray(p.errors) ? p.errors : null,
    });
  }
  if (text && parsed === undefined) {
    throw new ApiError({
      type: "about:blank",
      title: "Unexpected answer",
      status: response.status,
      detail: "The server's answer was not JSON.",
    });
  }
  return parsed as T;
}
