// The Mini Apps' JSON API under /app/api/: every request carries the raw initData
// (`Authorization: tma <initData>`, as Telegram's docs suggest); a refusal comes back as
// {"error": {"code", "message"}} and its message is what the person reads.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | null,
  ) {
    super(message);
  }
}

const OFFLINE = "Нет связи с сервером. Проверьте интернет и попробуйте ещё раз.";

export class Api {
  constructor(private readonly initData: string) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`/app/api/${path}`, {
        method,
        headers: {
          Authorization: `tma ${this.initData}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "NETWORK", OFFLINE, null);
    }
    const answer = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (response.ok && answer) return answer as T;
    throw refusal(response.status, answer);
  }
}

function refusal(status: number, answer: Record<string, unknown> | null): ApiError {
  const error = (answer?.error ?? {}) as Record<string, unknown>;
  const retry = error.retry_after_seconds ?? answer?.retry_after_seconds ?? null;
  return new ApiError(
    status,
    typeof error.code === "string" ? error.code : `HTTP_${status}`,
    typeof error.message === "string" && error.message ? error.message : OFFLINE,
    typeof retry === "number" ? retry : null,
  );
}

/** A refusal's text, or a generic one for an unexpected failure (a bug shows in the console). */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  console.error(error);
  return OFFLINE;
}
