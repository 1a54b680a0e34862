// Versions page: "Activate" makes a version the active one (a rollback when it is older).
(() => {
  "use strict";
  const root = document.getElementById("versions");
  if (!root) return;
  const out = document.getElementById("version-result");
  for (const button of root.querySelectorAll("button.activate")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const response = await fetch(`/api/v1/versions/${button.dataset.number}/activate`, {
          method: "POST", credentials: "same-origin",
          headers: {"X-CSRF-Token": root.dataset.csrf, "Accept": "application/json"},
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
        out.textContent = `Version ${body.active} is active (was ${body.previous}).`;
        window.location.reload();
      } catch (error) {
        out.textContent = error.message;
        button.disabled = false;
      }
    });
  }
})();
