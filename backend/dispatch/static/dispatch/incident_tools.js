// The buttons on an incident's admin page: ask before an operation that releases a crew.
// Forms marked data-confirm="question" are submitted only if the coordinator says yes.

for (const form of document.querySelectorAll("form.incident-tool[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
