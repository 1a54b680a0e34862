// Chat page: posts the question, reads the answer as server-sent events, renders citations.
"use strict";
(function () {
  const root = document.querySelector(".chat");
  const csrf = root.dataset.csrf;
  const list = document.getElementById("messages");
  const form = document.getElementById("ask");
  const input = document.getElementById("question");
  const send = document.getElementById("send");
  let conversationId = null;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderAnswer(item, body) {
    item.textContent = "";
    const text = el("div", "answer");
    // Text nodes only (never innerHTML): answers quote documents, which are untrusted.
    const parts = body.answer.split(/(\[\d+\])/);
    for (const part of parts) {
      const m = part.match(/^\[(\d+)\]$/);
      const cite = m && body.citations.find((c) => c.index === Number(m[1]));
      if (cite) {
        const a = el("a", "cite", `[${cite.index}]`);
        a.href = `/documents/${cite.document_id}?chunk=${cite.chunk_id}#chunk-${cite.chunk_id}`;
        a.title = cite.title + (cite.page ? `, page ${cite.page}` : "");
        text.appendChild(a);
      } else {
        text.appendChild(document.createTextNode(part));
      }
    }
    item.appendChild(text);
    if (body.citations.length) {
      const ol = el("ol", "sources");
      for (const c of body.citations) {
        const li = el("li");
        const a = el("a", null, c.title + (c.page ? ` (page ${c.page})` : ""));
        a.href = `/documents/${c.document_id}?chunk=${c.chunk_id}#chunk-${c.chunk_id}`;
        li.appendChild(a);
        li.appendChild(el("div", "snippet", c.snippet));
        ol.appendChild(li);
      }
      item.appendChild(ol);
    }
    const conf = el("div", "confidence", `Confidence ${Math.round(body.confidence * 100)}%`);
    if (body.handoff) {
      item.classList.add("handoff");
      conf.textContent += " · handed to a person";
    }
    item.appendChild(conf);
  }

  async function ask(question) {
    const mine = el("li", "user", question);
    list.appendChild(mine);
    const item = el("li", "assistant", "…");
    list.appendChild(item);
    send.disabled = true;
    try {
      const response = await fetch("/api/v1/chat", {
        method: "POST",
        headers: {"Content-Type": "application/json", "Accept": "text/event-stream", "X-CSRF-Token": csrf},
        body: JSON.stringify(conversationId ? {message: question, conversation_id: conversationId} : {message: question}),
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({detail: response.statusText}));
        item.textContent = problem.detail || "Something went wrong.";
        item.classList.add("error");
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "", streamed = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const raw = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
          let event = "message", data = "";
          for (const line of raw.split(/\r?\n/)) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).replace(/^ /, "");
          }
          if (event === "token") { streamed += JSON.parse(data); item.textContent = streamed; }
          if (event === "error") {
            item.textContent = JSON.parse(data).detail;
            item.classList.add("error");
          }
          // The final event carries the validated answer; it replaces whatever was streamed.
          if (event === "final") {
            const body = JSON.parse(data);
            conversationId = body.conversation_id;
            renderAnswer(item, body);
          }
        }
      }
    } catch (err) {
      item.textContent = "The connection failed; try again.";
      item.classList.add("error");
    } finally {
      send.disabled = false;
      item.scrollIntoView({block: "end"});
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
})();
