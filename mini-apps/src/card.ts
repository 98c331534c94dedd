// The customer's card (opened from the customer bot's menu button): the active discounts with
// their QR codes as the bot's «Мои скидки» shows them, the birthday form while no birthday is set,
// the profile and the subscription switch. The texts a customer reads come from the server (the
// shop's templates, the same the bot uses); the page adds only a few labels of its own.
import { Api, messageOf } from "./api";
import { byId, day, h, notice } from "./dom";
import { haptic, initData, start, type WebApp } from "./telegram";

interface Discount {
  code: string;
  percent: number;
  kind: string;
  kindLabel: string;
  lastDay: string;
  caption: string;
  qr: string;
}

interface Card {
  customer: { firstName: string; birthday: string | null; subscribed: boolean; since: string };
  discounts: Discount[];
  texts: Record<string, string | undefined>;
}

interface Changed {
  message?: string;
  card: Card;
}

const LABELS = {
  title: "Моя карта",
  empty: "Активных скидок пока нет.",
  birthdayPrompt: "Укажите день рождения, например 15.03.1990, и получите подарок.",
  birthdaySave: "Сохранить",
  profile: "Профиль",
  birthday: "День рождения",
  since: "С нами с",
  subscriptions: "Рассылки и подарки",
  lastDay: "Последний день",
  count: "",
  noBirthday: "—",
  subscribed: "",
  unsubscribed: "",
};

async function main(): Promise<void> {
  const app = await start();
  const api = new Api(initData(app));
  const root = byId<HTMLElement>("app");
  try {
    render(root, await api.get<Card>("card"), api, app);
  } catch (error) {
    const refusal = h("p", { id: "refusal", class: "refusal", role: "alert" }, messageOf(error));
    root.replaceChildren(h("header", {}, h("h1", {}, document.title)), refusal);
  }
  root.removeAttribute("aria-busy");
}

/** What the server answered to the last change, and where: at the top, or by the switch. */
interface Said {
  text: string;
  where: "top" | "profile";
}

type OnChange = (next: Changed, where: Said["where"]) => void;

function render(root: HTMLElement, card: Card, api: Api, app: WebApp | null, said?: Said): void {
  const text = (key: keyof typeof LABELS) => card.texts[key] || LABELS[key];
  document.title = text("title");
  const shown = h("p", { id: "notice", class: "notice", role: "status" });
  notice(shown, said?.where === "top" ? said.text : "");
  const changed: OnChange = (next, where) => {
    haptic(app, "success");
    render(root, next.card, api, app, { text: next.message ?? "", where });
    if (where === "top") window.scrollTo({ top: 0, behavior: "smooth" });
  };
  const sections = [
    h(
      "header",
      {},
      h("h1", {}, text("title")),
      // The count, unless there is nothing to count (the empty card says so itself).
      card.discounts.length > 0 && h("p", { class: "hint" }, text("count") || card.customer.firstName),
    ),
    shown,
    discounts(card, text("empty")),
  ];
  if (!card.customer.birthday) sections.push(birthdayForm(api, app, text("birthdayPrompt"), changed));
  const byTheSwitch = said?.where === "profile" ? said.text : "";
  root.replaceChildren(...sections, profile(card, text, api, app, changed, byTheSwitch));
}

function discounts(card: Card, empty: string): HTMLElement {
  if (card.discounts.length === 0) {
    return h("section", { id: "discounts" }, h("p", { id: "empty", class: "empty" }, empty));
  }
  return h(
    "section",
    { id: "discounts" },
    ...card.discounts.map((discount) =>
      h(
        "article",
        { class: "discount", "data-code": discount.code },
        h(
          "div",
          { class: "discount-head" },
          h("span", { class: "percent" }, `−${discount.percent}%`),
          h("span", { class: "kind" }, discount.kindLabel),
        ),
        h("img", { class: "qr", src: discount.qr, alt: discount.code, width: "220", height: "220" }),
        h("p", { class: "code" }, discount.code),
        h("p", { class: "last-day" }, `${LABELS.lastDay}: ${day(discount.lastDay)}`),
        h("p", { class: "caption" }, discount.caption),
      ),
    ),
  );
}

function birthdayForm(
  api: Api,
  app: WebApp | null,
  prompt: string,
  changed: OnChange,
): HTMLElement {
  const input = h("input", {
    id: "birthday-input",
    name: "birthday",
    type: "text",
    inputmode: "numeric",
    autocomplete: "bday",
    placeholder: "ДД.ММ.ГГГГ",
    required: true,
  });
  input.addEventListener("input", () => {
    // Digits only become 15.03.1990 as they are typed (the phone's number pad has no dot).
    if (/^[\d.]*$/.test(input.value)) {
      const digits = input.value.replace(/\D/g, "").slice(0, 8);
      input.value = [digits.slice(0, 2), digits.slice(2, 4), digits.slice(4)].filter(Boolean).join(".");
    }
  });
  const button = h("button", { type: "submit", class: "primary" }, LABELS.birthdaySave);
  const error = h("p", { id: "birthday-error", class: "notice", role: "alert", hidden: true });
  const form = h(
    "form",
    { id: "birthday", class: "panel" },
    h("label", { for: "birthday-input" }, prompt),
    h("div", { class: "row" }, input, button),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      changed(await api.post<Changed>("birthday", { birthday: input.value }), "top");
    } catch (failure) {
      haptic(app, "error");
      notice(error, messageOf(failure), "error");
      button.disabled = false;
    }
  });
  return form;
}

function profile(
  card: Card,
  text: (key: keyof typeof LABELS) => string,
  api: Api,
  app: WebApp | null,
  changed: OnChange,
  said: string,
): HTMLElement {
  const { customer } = card;
  const toggle = h("input", { id: "subscribed", type: "checkbox", role: "switch", class: "switch" });
  toggle.checked = customer.subscribed;
  const error = h("p", { id: "subscription-notice", class: "notice", role: "status" });
  notice(error, said);
  toggle.addEventListener("change", async () => {
    toggle.disabled = true;
    try {
      changed(await api.post<Changed>("subscription", { subscribed: toggle.checked }), "profile");
    } catch (failure) {
      haptic(app, "error");
      toggle.checked = !toggle.checked;
      toggle.disabled = false;
      notice(error, messageOf(failure), "error");
    }
  });
  const line = (label: string, value: string, id: string) =>
    h("div", { class: "line" }, h("dt", {}, label), h("dd", { id }, value));
  return h(
    "section",
    { id: "profile", class: "panel" },
    h("h2", {}, LABELS.profile),
    h(
      "dl",
      {},
      line(LABELS.birthday, customer.birthday ? day(customer.birthday) : text("noBirthday"), "profile-birthday"),
      line(LABELS.since, day(customer.since), "profile-since"),
    ),
    h(
      "label",
      { class: "line switch-line", for: "subscribed" },
      h(
        "span",
        {},
        LABELS.subscriptions,
        h("small", { id: "subscription-status", class: "hint" }, text(customer.subscribed ? "subscribed" : "unsubscribed")),
      ),
      toggle,
    ),
    error,
  );
}

void main();
