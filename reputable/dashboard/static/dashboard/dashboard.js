// The dashboard's only script besides htmx: forms that do something irreversible ask first.
// <form data-confirm="Revoke this key?"> asks before it is sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
