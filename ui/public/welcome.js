// The landing page's welcome: what the assistant does and what to upload, placed under
// the logo of Chainlit's empty-chat screen. Text only (textContent), never HTML.
(() => {
  const PARAGRAPHS = __WELCOME__;
  const place = () => {
    const screen = document.getElementById("welcome-screen");
    if (!screen || screen.querySelector("#ca-welcome")) return;
    const box = document.createElement("div");
    box.id = "ca-welcome";
    for (const text of PARAGRAPHS) {
      const paragraph = document.createElement("p");
      paragraph.textContent = text;
      box.appendChild(paragraph);
    }
    const logo = screen.firstElementChild;
    if (logo) logo.after(box);
    else screen.prepend(box);
  };
  new MutationObserver(place).observe(document.documentElement, {
    childList: true,
    subtree: true,
  });
})();
