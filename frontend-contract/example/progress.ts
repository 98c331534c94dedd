// Live progress of a broadcast over WebSocket with the graphql-ws library.
//
// One client per signed-in token (README "Sign-in on a socket"): after a
// logout the server closes the socket with 4403, and the client must not
// reconnect with the same token, so `shouldRetry` refuses 4403 and 4401.
import { createClient, type Client } from "graphql-ws";
import { apiError, ApiError } from "./api";
import {
  BroadcastProgressDocument,
  type BroadcastProgressSubscription,
} from "../generated/graphql";

export type Snapshot = BroadcastProgressSubscription["broadcastProgress"];

export type Watch = {
  onSnapshot(snapshot: Snapshot): void;
  onError(error: ApiError): void;
  onClosed(code: number, reason: string): void;
  onComplete(): void;
};

const FORBIDDEN_CLOSE = 4403;
const UNAUTHORIZED_CLOSE = 4401;

/** The socket URL for an HTTP endpoint: same host and path, ws(s) scheme. */
export function socketUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export function progressClient(httpUrl: string, token: string, watch: Watch): Client {
  return createClient({
    url: socketUrl(httpUrl),
    connectionParams: { Authorization: `Bearer ${token}` },
    lazy: true,
    keepAlive: 10_000,
    retryAttempts: 5,
    shouldRetry: (event) => {
      const code = (event as CloseEvent | undefined)?.code;
      return code !== FORBIDDEN_CLOSE && code !== UNAUTHORIZED_CLOSE;
    },
    on: {
      closed: (event) => {
        const close = event as CloseEvent;
        watch.onClosed(close.code, close.reason);
      },
    },
  });
}

/** Subscribe to one broadcast; returns the function that stops watching. */
export function watchBroadcast(client: Client, id: number, watch: Watch): () => void {
  return client.subscribe<BroadcastProgressSubscription>(
    { query: BroadcastProgressDocument.toString(), variables: { id } },
    {
      next: ({ data, errors }) => {
        if (errors !== undefined && errors.length > 0) watch.onError(apiError(errors));
        else if (data) watch.onSnapshot(data.broadcastProgress);
      },
      error: (error) => {
        if (Array.isArray(error)) watch.onError(apiError(error));
        // A CloseEvent: reported by `on.closed` already.
      },
      complete: () => watch.onComplete(),
    },
  );
}
