// Login: username and password. The server's message is shown as it is; it never says which of
// the two was wrong.

import { ApiError } from "../api.js";
import { h } from "../dom.js";

export function loginView(root, _params, ctx) {
  const { store } = ctx;
  const expired = store.state.session === "expired";
  const error = h("div", { class: "notice danger", role: "alert", hidden: true });
  const username = h("input", {
    id: "username",
    name: "username",
    type: "text",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: false,
    required: true,
  });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-big", text: "Log in" });
  if (store.state.me?.username) username.value = store.state.me.username;

  const showError = (message) => {
    error.replaceChildren(h("p", { text: message }));
    error.hidden = false;
  };

  const form = h(
    "form",
    {
      class: "stack",
      novalidate: true,
      on: {
        submit: async (event) => {
          event.preventDefault();
          error.hidden = true;
          if (!username.value.trim() || !password.value) {
            showError("Enter your username and password.");
            return;
          }
          submit.disabled = true;
          submit.textContent = "Logging in…";
          try {
            await ctx.login(username.value.trim(), password.value);
          } catch (failure) {
            password.value = "";
            const message =
              failure instanceof ApiError
                ? failure.code === "invalid"
                  ? "Enter your username and password."
                  : failure.message
                : "Could not log in. Try again.";
            showError(message);
            submit.disabled = false;
            submit.textContent = "Log in";
            password.focus();
          }
        },
      },
    },
    h("label", { for: "username", text: "Username" }),
    username,
    h("label", { for: "password", text: "Password" }),
    password,
    submit,
  );

  const queued = store.state.queue;
  root.append(
    h(
      "main",
      { class: "page" },
      h("h1", { text: "Co-responder" }),
      h("p", { class: "lead", text: "Cardiac arrest alerts for fire and rescue co-responders." }),
      expired ? h("div", { class: "notice warning" }, h("p", { text: "Your session has ended. Log in again to keep receiving alerts." })) : null,
      queued?.pending || queued?.problems
        ? h("p", { class: "notice info", text: "Events recorded on scene are kept on this phone and will be sent after you log in." })
        : null,
      error,
      form,
    ),
  );
  if (!username.value) username.focus();
  else password.focus();
}
