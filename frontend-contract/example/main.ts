// The reference admin client: sign in, list customers, send a broadcast and
// watch it live, pause and resume it, sign out. Plain DOM, no framework: what
// matters here is how the generated documents, fetch and graphql-ws are used.
//
// The API address comes from `?api=` (default: port 8000 on this host, where
// `make run` serves). Everything the page shows is also recorded on
// `window.dvorikExample` with a timestamp, for the browser test.
import type { Client } from "graphql-ws";
import { ApiError, request, type Api } from "./api";
import { describe } from "./messages";
import { progressClient, watchBroadcast, type Snapshot } from "./progress";
import {
  CreateBroadcastDocument,
  CustomerListDocument,
  LoginDocument,
  LogoutDocument,
  PauseBroadcastDocument,
  ResumeBroadcastDocument,
  SendBroadcastNowDocument,
  type BroadcastStatus,
  type CustomerListRowFragment,
} from "../generated/graphql";

type Timed<T> = T & { at: number };
type Record_ = {
  snapshots: Timed<Snapshot>[];
  errors: Timed<{ code: string; text: string }>[];
  closes: Timed<{ code: number; reason: string }>[];
  actions: Timed<{ name: string }>[];
  completed: number | null;
  broadcastId: number | null;
};

declare global {
  interface Window {
    dvorikExample: Record_;
  }
}

const STATUS: Record<BroadcastStatus, string> = {
  DRAFT: "Черновик",
  SCHEDULED: "Запланирована",
  SENDING: "Отправляется",
  PAUSED: "На паузе",
  COMPLETED: "Завершена",
  CANCELLED: "Отменена",
  FAILED: "Не удалась",
};
const CUSTOMER_STATUS: Record<string, string> = {
  ACTIVE: "подписан",
  UNSUBSCRIBED: "отписался",
  BLOCKED: "заблокировал бота",
};

const record: Record_ = {
  snapshots: [],
  errors: [],
  closes: [],
  actions: [],
  completed: null,
  broadcastId: null,
};
window.dvorikExample = record;

const api: Api = {
  url: new URLSearchParams(location.search).get("api") ?? `${location.protocol}//${location.hostname}:8000/graphql`,
  token: null,
};
let sockets: Client | null = null;
let watching: number | null = null;

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`the page has no ${selector}`);
  return found;
}

function show(selector: string, visible: boolean): void {
  element(selector).hidden = !visible;
}

function showError(error: unknown): void {
  const apiError = error instanceof ApiError ? error : new ApiError("INTERNAL", String(error));
  const text = describe(apiError);
  const box = element("#error");
  box.textContent = text;
  box.dataset.code = apiError.code;
  box.hidden = false;
  record.errors.push({ code: apiError.code, text, at: performance.now() });
}

function clearError(): void {
  show("#error", false);
}

/** Run an action from a button or form, showing its error the way a person sees it. */
function act(name: string, action: () => Promise<void>): void {
  record.actions.push({ name, at: performance.now() });
  clearError();
  action().catch(showError);
}

async function signIn(form: HTMLFormElement): Promise<void> {
  const fields = new FormData(form);
  const email = String(fields.get("email") ?? "");
  const password = String(fields.get("password") ?? "");
  try {
    const { login } = await request(api, LoginDocument, { email, password });
    api.token = login.token;
    element("#who").textContent = `${login.admin.email} · ${login.admin.role.toLowerCase()}`;
  } finally {
    element<HTMLInputElement>("#sign-in [name=password]").value = "";
  }
  show("#sign-in", false);
  for (const selector of ["#who", "#logout", "#workspace"]) show(selector, true);
  show("#socket", false);
  await listCustomers();
  if (watching !== null) watch(watching); // back to the broadcast on screen, with the new token
}

function row(customer: CustomerListRowFragment): HTMLTableRowElement {
  const tr = document.createElement("tr");
  const name = [customer.firstName, customer.lastName].filter(Boolean).join(" ");
  const since = new Date(customer.createdAt).toLocaleDateString("ru-RU");
  for (const text of [name, CUSTOMER_STATUS[customer.status] ?? customer.status, customer.tags.join(", "), since]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

async function listCustomers(): Promise<void> {
  const { customers } = await request(api, CustomerListDocument, { first: 10 });
  element("#customer-count").textContent = `(${customers.totalCount})`;
  element("#customers tbody").replaceChildren(...customers.edges.map((edge) => row(edge.node)));
}

function render(snapshot: Snapshot): void {
  record.snapshots.push({ ...snapshot, at: performance.now() });
  show("#progress", true);
  const status = element("#status");
  status.textContent = STATUS[snapshot.status];
  status.dataset.status = snapshot.status;
  const worker = snapshot.status === "SENDING" && !snapshot.workerAlive ? "нет работающего воркера" : "";
  const rate = snapshot.rate === null ? "" : ` · ${Math.round(snapshot.rate)} сообщ./с`;
  const eta = snapshot.eta === null ? "" : ` · осталось ≈${Math.ceil(snapshot.eta)} с`;
  element("#worker").textContent = worker;
  const bar = element<HTMLProgressElement>("#bar");
  bar.max = Math.max(snapshot.total, 1);
  bar.value = Math.max(bar.value, snapshot.sent + snapshot.failed + snapshot.blocked); // never backwards
  element("#counts").textContent =
    `Доставлено ${snapshot.sent} из ${snapshot.total} · не доставлено ${snapshot.failed}` +
    ` · заблокировали бота ${snapshot.blocked} · в очереди ${snapshot.pending}${rate}${eta}`;
  show("#pause", snapshot.status === "SENDING");
  show("#resume", snapshot.status === "PAUSED");
}

function socketClosed(code: number, reason: string): void {
  record.closes.push({ code, reason, at: performance.now() });
  if (code === 4403 || code === 4401) {
    const note = element("#socket");
    note.textContent = `Сервер закрыл живое обновление (код ${code}): войдите снова.`;
    note.hidden = false;
  }
}

function watch(id: number): void {
  if (api.token === null) return;
  sockets ??= progressClient(api.url, api.token, {
    onSnapshot: render,
    onError: showError,
    onClosed: socketClosed,
    onComplete: () => undefined,
  });
  watchBroadcast(sockets, id, {
    onSnapshot: render,
    onError: showError,
    onClosed: socketClosed,
    onComplete: () => {
      record.completed = performance.now();
    },
  });
}

async function sendBroadcast(form: HTMLFormElement): Promise<void> {
  const fields = new FormData(form);
  const input = { title: String(fields.get("title") ?? ""), text: String(fields.get("text") ?? "") };
  const { createBroadcast } = await request(api, CreateBroadcastDocument, { input });
  record.broadcastId = watching = createBroadcast.id;
  await request(api, SendBroadcastNowDocument, { id: createBroadcast.id });
  watch(createBroadcast.id);
}

async function pause(): Promise<void> {
  if (watching !== null) await request(api, PauseBroadcastDocument, { id: watching });
}

async function resume(): Promise<void> {
  if (watching !== null) await request(api, ResumeBroadcastDocument, { id: watching });
}

async function signOut(): Promise<void> {
  await request(api, LogoutDocument);
  api.token = null;
  // The server closes this token's socket with 4403 (README); the client is
  // not reused: the next sign-in makes a new one with the new token.
  sockets = null;
  for (const selector of ["#who", "#logout", "#workspace", "#progress"]) show(selector, false);
  show("#sign-in", true);
}

function onSubmit(selector: string, action: (form: HTMLFormElement) => Promise<void>): void {
  const form = element<HTMLFormElement>(selector);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(form.id, () => action(form));
  });
}

function onClick(selector: string, action: () => Promise<void>): void {
  element(selector).addEventListener("click", () => act(selector.slice(1), action));
}

onSubmit("#sign-in", signIn);
onSubmit("#broadcast", sendBroadcast);
onClick("#pause", pause);
onClick("#resume", resume);
onClick("#logout", signOut);
