// What a person reads for each error code (README "Every code"): one place.
import type { ApiError } from "./api";

const TEXTS: Record<string, string> = {
  UNAUTHENTICATED: "Сессия закончилась — войдите снова.",
  FORBIDDEN: "У вашей роли нет доступа к этому действию.",
  INVALID_CREDENTIALS: "Неверная почта или пароль.",
  THROTTLED: "Слишком много попыток входа. Подождите и попробуйте снова.",
  NOT_FOUND: "Этого больше нет — возможно, его удалил кто-то другой.",
  VALIDATION: "Проверьте введённые данные.",
  INVALID_STATE: "Это действие сейчас недоступно: статус рассылки изменился.",
  INVALID_MARKUP: "В тексте ошибка разметки.",
  UNAVAILABLE: "Сервер ненадолго недоступен, попробуйте через несколько секунд.",
  TRANSPORT: "Нет связи с сервером. Проверьте подключение и повторите.",
};

/** The Russian sentence for an error, with the server's detail where it helps. */
export function describe(error: ApiError): string {
  const text = TEXTS[error.code] ?? "Что-то пошло не так.";
  const wait = error.extensions.retry_after_seconds;
  if (error.code === "THROTTLED" && typeof wait === "number") {
    return `${text} Повторить можно через ${wait} с.`;
  }
  if (error.code === "VALIDATION" || error.code === "INVALID_MARKUP") {
    return `${text} ${error.message}`;
  }
  const requestId = error.extensions.requestId;
  if (error.code === "INTERNAL" && typeof requestId === "string") {
    return `${text} Номер запроса для поддержки: ${requestId}.`;
  }
  return text;
}
