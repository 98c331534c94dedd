// Queries and mutations over fetch, typed by the generated documents.
//
// The API answers HTTP 200 with an `errors` array for everything a person can
// cause (wrong password, missing permission, bad input); any other status is a
// transport problem. Both come out of `request` as an `ApiError` whose `code`
// is the error's `extensions.code` (or TRANSPORT), so the page has one place
// that turns codes into words (messages.ts).
import type { TypedDocumentString } from "../generated/graphql";

export type ErrorCode = string;

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type GraphQLError = { message: string; extensions?: Record<string, unknown> };
type Response<T> = { data?: T | null; errors?: GraphQLError[] };

export type Api = {
  readonly url: string;
  token: string | null;
};

/** The first error of a response as an ApiError (the API reports one per failure). */
export function apiError(errors: readonly GraphQLError[]): ApiError {
  const first = errors[0] ?? { message: "unknown error" };
  const code = String(first.extensions?.code ?? "INTERNAL");
  return new ApiError(code, first.message, first.extensions ?? {});
}

/** Run one operation; resolves with its data or rejects with an ApiError. */
export async function request<TResult, TVariables>(
  api: Api,
  document: TypedDocumentString<TResult, TVariables>,
  ...[variables]: TVariables extends Record<string, never> ? [] : [TVariables]
): Promise<TResult> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (api.token !== null) headers.Authorization = `Bearer ${api.token}`;
  let response: globalThis.Response;
  try {
    response = await fetch(api.url, {
      method: "POST",
      headers,
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
    });
  } catch (error) {
    throw new ApiError("TRANSPORT", String(error));
  }
  if (response.status !== 200) {
    throw new ApiError("TRANSPORT", `HTTP ${response.status}`);
  }
  const body = (await response.json()) as Response<TResult>;
  if (body.errors !== undefined && body.errors.length > 0) throw apiError(body.errors);
  if (body.data === undefined || body.data === null) {
    throw new ApiError("INTERNAL", "no data in the answer");
  }
  return body.data;
}
